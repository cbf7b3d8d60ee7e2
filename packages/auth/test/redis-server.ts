import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer as createTcpServer, type AddressInfo } from 'node:net'
import { Redis } from 'ioredis'

/** A real redis-server this file starts on a free port, and kills. */
export const haveRedis = spawnSync('redis-server', ['--version']).status === 0

/** Call at the top of a file that needs redis-server: one visible line when it is missing, and a failure under CI=true. */
export function requireRedisServer(file: string): boolean {
  if (haveRedis) return true
  const line = `${file}: skipped, redis-server is not on the PATH (apt-get install -y redis-server runs it)`
  if (process.env.CI === 'true') throw new Error(`${line}; CI=true needs it`)
  console.warn(line)
  return false
}

export async function freePort(): Promise<number> {
  const server = createTcpServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((r) => server.close(r))
  return port
}

export async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => undefined) // until it starts
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      return child
    } catch {
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  throw new Error(`redis-server did not start on port ${port}`)
}

export const kill = async (child: ChildProcess) => {
  if (child.exitCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

