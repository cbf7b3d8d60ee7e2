import { playgroundRoot, startAuthServer } from '../auth-server.js'
import { connections, rounds, seconds } from '../config.js'
import { alternate, load } from '../load.js'
import { ms, ratio, type Row } from '../report.js'
import { startServer } from '../servers.js'

/** 2. On costs little: auth off against a login token against an API key, on GET /blocks and on a trivial predict. */
export async function onCostsLittle(): Promise<Row[]> {
  const [off, on] = await Promise.all([
    startServer({ root: playgroundRoot, blocks: 'trivial', plugins: [{ module: '@mlblocks/auth', enabled: false }] }),
    startAuthServer(),
  ])
  const rows: Row[] = []
  try {
    const routes = [
      { name: 'GET /blocks', path: '/blocks', method: 'GET' as const, body: undefined },
      { name: 'trivial predict', path: '/blocks/echo/predict', method: 'POST' as const, body: { text: 'hello' } },
    ]
    for (const route of routes) {
      const run = (url: string, headers: Record<string, string> = {}) => () =>
        load({ url: `${url}${route.path}`, method: route.method, body: route.body, headers, connections, seconds })
      const r = await alternate(
        {
          off: run(off.url),
          token: run(on.url, { authorization: `Bearer ${on.token}` }),
          key: run(on.url, { 'x-api-key': on.apiKey }),
        },
        rounds,
      )
      const clean = r.off.bad + r.token.bad + r.key.bad === 0
      for (const variant of ['token', 'key'] as const) {
        rows.push({
          benchmark: '2. on costs little',
          measure: `${route.name}: throughput, ${variant === 'token' ? 'login token' : 'API key'} ÷ auth off`,
          value: `${ratio(r[variant].rps, r.off.rps)} (${Math.round(r[variant].rps)} vs ${Math.round(r.off.rps)} req/s)`,
          target: '≥ 0.97',
          met: clean && r[variant].rps / r.off.rps >= 0.97,
        })
      }
      rows.push({
        benchmark: '2. on costs little',
        measure: `${route.name}: p99 latency, off / token / key`,
        value: `${ms(r.off.p99)} / ${ms(r.token.p99)} / ${ms(r.key.p99)}`,
        target: '',
      })
    }
    return rows
  } finally {
    await Promise.all([off.stop(), on.stop()])
  }
}
