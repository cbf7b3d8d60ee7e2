import { playgroundRoot, startAuthServer, withAuthDatabase } from '../auth-server.js'
import { connections, rounds, seconds } from '../config.js'
import { alternateRuns, load, medians, type Runs } from '../load.js'
import { formatRatios, judgeThroughput } from '../noise.js'
import { ms, type Row } from '../report.js'
import { onFreshServers, startServer } from '../servers.js'

/** 2. On costs little: auth off against a login token against an API key, on GET /blocks and on a trivial predict. */
export async function onCostsLittle(): Promise<Row[]> {
  const routes = [
    { name: 'GET /blocks', path: '/blocks', method: 'GET' as const, body: undefined },
    { name: 'trivial predict', path: '/blocks/echo/predict', method: 'POST' as const, body: { text: 'hello' } },
  ]
  // One auth database for every set of servers: each reopens it instead of creating one.
  const sets = await withAuthDatabase((dataDir) =>
    onFreshServers(
      () =>
        Promise.all([
          startServer({ root: playgroundRoot, blocks: 'trivial', plugins: [{ module: '@mlblocks/auth', enabled: false }] }),
          startAuthServer(dataDir),
        ] as const),
      async ([off, on], set) => {
        const perRoute: Runs<'off' | 'token' | 'key'>[] = []
        for (const route of routes) {
          const run = (url: string, headers: Record<string, string> = {}) => () =>
            load({ url: `${url}${route.path}`, method: route.method, body: route.body, headers, connections, seconds })
          const variants = {
            off: run(off.url),
            token: run(on.url, { authorization: `Bearer ${on.token}` }),
            key: run(on.url, { 'x-api-key': on.apiKey }),
          }
          perRoute.push(await alternateRuns(variants, rounds, { firstRound: set * rounds }))
        }
        return perRoute
      },
    ),
  )
  return routes.flatMap((route, i) => {
    const runs = sets.map((perRoute) => perRoute[i]!)
    const r = medians(...runs)
    const clean = r.off.bad + r.token.bad + r.key.bad === 0
    return [
      ...(['token', 'key'] as const).map((variant) => {
        const throughput = judgeThroughput(runs, variant, 'off', 0.97, clean)
        return {
          benchmark: '2. on costs little',
          measure: `${route.name}: throughput, ${variant === 'token' ? 'login token' : 'API key'} ÷ auth off`,
          value: `${formatRatios(throughput)}; ${Math.round(r[variant].rps)} vs ${Math.round(r.off.rps)} req/s`,
          target: '≥ 0.97',
          met: throughput.met,
        }
      }),
      {
        benchmark: '2. on costs little',
        measure: `${route.name}: p99 latency, off / token / key`,
        value: `${ms(r.off.p99)} / ${ms(r.token.p99)} / ${ms(r.key.p99)}`,
        target: '',
      },
    ]
  })
}
