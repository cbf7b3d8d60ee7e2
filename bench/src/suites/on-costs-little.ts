import { playgroundRoot, startAuthServer, withAuthDatabase, withPostgres, type AuthedServer } from '../auth-server.js'
import { connections, cpuRequests, rounds } from '../config.js'
import { alternateRuns, cpuLoad, medians, type LoadResult, type Runs } from '../load.js'
import { cpuRatios, formatCpu, formatRatios, judgeCpu, throughputRatios } from '../noise.js'
import { ms, type Row } from '../report.js'
import { onFreshServers, startServer, type RunningServer } from '../servers.js'

const BENCHMARK = '2. on costs little'

interface Route {
  name: string
  path: string
  method: 'GET' | 'POST'
  body: unknown
}

const checked: Route[] = [
  { name: 'GET /blocks', path: '/blocks', method: 'GET', body: undefined },
  { name: 'trivial predict', path: '/blocks/echo/predict', method: 'POST', body: { text: 'hello' } },
]
const open: Route[] = [
  { name: 'GET /healthz', path: '/healthz', method: 'GET', body: undefined },
  { name: 'GET /readyz', path: '/readyz', method: 'GET', body: undefined },
  { name: 'GET /docs/json', path: '/docs/json', method: 'GET', body: undefined },
]

/**
 * 2. On costs little, as the server's own CPU per request: auth off against a login token and an
 * API key on `GET /blocks` and a trivial predict, with auth on the embedded database and on
 * Postgres; and the public routes with auth on against off. A second server without auth, measured
 * alike on each route, is that route's control. Every variant runs a fixed number of requests per round, alternated, on
 * `processSets` sets of fresh processes; the verdict is CPU per request, off ÷ on.
 */
export async function onCostsLittle(): Promise<Row[]> {
  return withPostgres((pgUrl) =>
    withAuthDatabase(async (dataDir) => {
      type Servers = [RunningServer, RunningServer, AuthedServer, AuthedServer | null]
      const sets = await onFreshServers<Servers, Runs<string>[]>(
        async () =>
          (await Promise.all([
            startServer({ root: playgroundRoot, blocks: 'trivial', plugins: [{ module: '@mlblocks/auth', enabled: false }] }),
            startServer({ root: playgroundRoot, blocks: 'trivial', plugins: [{ module: '@mlblocks/auth', enabled: false }] }),
            startAuthServer(dataDir, null),
            pgUrl ? startAuthServer(dataDir, pgUrl) : Promise.resolve(null),
          ])) as Servers,
        async ([off, control, embedded, postgres], set) => {
          const run = (server: RunningServer, route: Route, headers: Record<string, string> = {}) => () =>
            cpuLoad(server.pid, { url: `${server.url}${route.path}`, method: route.method, body: route.body, headers, connections, requests: cpuRequests })
          const perRoute: Runs<string>[] = []
          for (const route of checked) {
            const variants: Record<string, () => Promise<LoadResult>> = {
              off: run(off, route),
              control: run(control, route),
              'token, embedded': run(embedded, route, { authorization: `Bearer ${embedded.token}` }),
              'key, embedded': run(embedded, route, { 'x-api-key': embedded.apiKey }),
            }
            if (postgres) {
              variants['token, Postgres'] = run(postgres, route, { authorization: `Bearer ${postgres.token}` })
              variants['key, Postgres'] = run(postgres, route, { 'x-api-key': postgres.apiKey })
            }
            perRoute.push(await alternateRuns(variants, rounds, { firstRound: set * rounds }))
          }
          for (const route of open) {
            const variants: Record<string, () => Promise<LoadResult>> = {
              off: run(off, route),
              control: run(control, route),
              'on, embedded': run(embedded, route),
            }
            if (postgres) variants['on, Postgres'] = run(postgres, route)
            perRoute.push(await alternateRuns(variants, rounds, { firstRound: set * rounds }))
          }
          return perRoute
        },
      )
      const routes = [...checked, ...open]
      const byRoute = routes.map((_, i) => sets.map((perRoute) => perRoute[i]!))
      const rows: Row[] = []
      routes.forEach((route, i) => {
        const runs = byRoute[i]!
        const r = medians(...runs)
        // The control: two identical servers without auth on this route, in the same rounds.
        const control = cpuRatios(runs, 'control', 'off')
        rows.push({
          benchmark: BENCHMARK,
          measure: `${route.name}: control, CPU per request of a server without auth ÷ a second one (the method's own noise)`,
          value: formatCpu(control, 'first', 'second'),
          target: '',
        })
        const names = Object.keys(r).filter((n) => n !== 'off' && n !== 'control')
        const clean = Object.values(r).every((x) => x.bad === 0)
        const target = checked.includes(route) ? 0.97 : 0.99
        for (const variant of names) {
          const cpu = judgeCpu(runs, variant, 'off', target, clean, control)
          const fromStat = runs.flatMap((x) => [...x[variant]!, ...x.off!]).filter((x) => x.cpuFromStat).length
          rows.push({
            benchmark: BENCHMARK,
            measure: `${route.name}: CPU per request, auth off ÷ ${describe(variant)}`,
            value: `${formatCpu(cpu, 'off', 'on')}${fromStat ? ` (${fromStat} run${fromStat === 1 ? '' : 's'} read from utime + stime: a thread ended)` : ''}`,
            target: `≥ ${target}`,
            met: cpu.met,
          })
        }
        rows.push({
          benchmark: BENCHMARK,
          measure: `${route.name}: throughput ÷ off and p99 (context): ${['control', ...names].join(' / ')}`,
          value:
            ['control', ...names].map((n) => formatRatios(throughputRatios(runs, n, 'off'))).join(' / ') +
            `; p99 off ${ms(r.off!.p99)}, ${['control', ...names].map((n) => ms(r[n]!.p99)).join(' / ')}`,
          target: '',
        })
      })
      if (!pgUrl) rows.push({ benchmark: BENCHMARK, measure: 'auth on Postgres', value: 'not measured: set BENCH_DATABASE_URL, or run a Postgres on 127.0.0.1:5432 (trust auth)', target: '' })
      return rows
    }),
  )
}

const describe = (variant: string) =>
  variant.replace(/^token/, 'a login token').replace(/^key/, 'an API key').replace(/^on/, 'auth on').replace(', ', ' (') + ')'
