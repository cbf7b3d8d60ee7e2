// throwaway: CPU per request off vs on, one route
import { playgroundRoot, startAuthServer, withAuthDatabase } from './auth-server.js'
import { cpuLoad, median } from './load.js'
import { pinRunner } from './cpus.js'
import { startServer } from './servers.js'
pinRunner(true)
const path = process.argv[2] ?? '/blocks'
const n = Number(process.argv[3] ?? 5000)
const rounds = Number(process.argv[4] ?? 5)
await withAuthDatabase(async (dir) => {
  const off = await startServer({ root: playgroundRoot, blocks: 'trivial', plugins: [{ module: '@mlblocks/auth', enabled: false }] })
  const on = await startAuthServer(dir, null)
  const post = path.includes('predict')
  const go = (s: typeof off, headers = {}) => cpuLoad(s.pid, { url: s.url + path, method: post ? 'POST' : 'GET', body: post ? { text: 'hello' } : undefined, headers, connections: 10, requests: n })
  const res: Record<string, number[]> = { off: [], token: [], key: [], nocred: [] }
  for (let r = 0; r < rounds + 1; r++) {
    const a = await go(off); const b = await go(on, { authorization: `Bearer ${on.token}` }); const c = await go(on, { 'x-api-key': on.apiKey })
    if (r > 0) { res.off!.push(a.cpuUs!); res.token!.push(b.cpuUs!); res.key!.push(c.cpuUs!) }
    console.log(r, a.cpuUs!.toFixed(1), b.cpuUs!.toFixed(1), c.cpuUs!.toFixed(1), a.bad, b.bad, c.bad)
  }
  console.log('median off', median(res.off!).toFixed(1), 'token', median(res.token!).toFixed(1), 'key', median(res.key!).toFixed(1))
  await off.stop(); await on.stop()
})
