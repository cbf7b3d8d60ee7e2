import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer as createTcpServer, type AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { needs } from '../../../test-support/services.js'

/** A real redis-server this file starts on a free port, and kills. */
/** Tests that start (and kill) their own redis-server: `redisServer.describe` / `.it` skip with one line without it, and fail under CI=true. */
export const redisServer = needs('redis-server')

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

