// A TCP relay to Postgres that a test can cut and restore (test/outage.test.ts, test/usage.test.ts).
import { createServer as createTcpServer, connect, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'

/** A TCP relay to Postgres that the test can cut (every connection dropped, none accepted) and restore. */
export async function relay(target: URL) {
  const sockets = new Set<Socket>()
  let server: Server
  let port = 0
  const open = async () => {
    server = createTcpServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname)
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
        s.on('error', () => s.destroy())
      }
      client.pipe(upstream).pipe(client)
    })
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as AddressInfo).port
  }
  await open()
  return {
    url: (database: string) => Object.assign(new URL(target.href), { port: String(port), pathname: `/${database}` }).href,
    async cut() {
      const closed = once(server, 'close')
      server.close() // stop accepting; 'close' comes once the live connections are gone too
      for (const s of sockets) s.destroy()
      await closed
    },
    restore: open,
    close: async () => {
      const closed = once(server, 'close')
      server.close()
      for (const s of sockets) s.destroy()
      await closed
    },
  }
}
