import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { needs } from '../../../test-support/services.js'
import { freePort, kill, redisServer, startRedis } from './redis-server.js'
import { buildAuthServer, createBackend, createUser, login, type Backend } from './helpers.js'

const cli = new URL('../dist/cli.js', import.meta.url).pathname
const SLOW = 240_000
const postgres = needs('postgres')

async function run(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  child.stdin.end()
  const [code] = (await once(child, 'exit')) as [number]
  return { code, stdout, stderr }
}

/**
 * Locks `name` out (one free attempt, then failures as the waits allow: 1, 2, 4, 8 s) until its next
 * wait is 16 s. Returns the attempt function and when the lock ends by itself, so that a test can
 * tell an unlock from the wait running out.
 */
async function lockOut(app: FastifyInstance, name: string) {
  const attempt = (password: string) => app.inject({ method: 'POST', url: '/login', payload: { username: name, password }, remoteAddress: '10.7.0.1' })
  for (const wait of [0, 0, 1, 2, 4, 8]) {
    await new Promise((r) => setTimeout(r, wait * 1000 + 50))
    expect((await attempt('wrong password')).statusCode).toBe(401)
  }
  const locked = await attempt('unlock me please')
  expect(locked.statusCode).toBe(429)
  expect(Number(locked.headers['retry-after'])).toBeGreaterThan(14)
  return { attempt, endsAt: Date.now() + 14_000 }
}

describe('mlblocks-auth unlock NAME', () => {
  let backend: Backend | undefined
  let app: FastifyInstance | undefined
  let redis: ChildProcess | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
    if (redis) await kill(redis)
    redis = undefined
    await backend?.drop()
    backend = undefined
  })

  postgres.it('reaches a running server on Postgres without Redis (through NOTIFY), and refuses an unknown name', async () => {
    backend = await createBackend('postgres')
    app = await buildAuthServer({ backend, options: { loginFreeAttempts: 1 } })
    await createUser(app, await login(app), { username: 'forgetful', password: 'unlock me please' })
    const { attempt, endsAt } = await lockOut(app, 'forgetful')
    const env = { DATABASE_URL: backend.options.databaseUrl! }
    const done = await run(['unlock', 'forgetful'], env)
    expect(done).toMatchObject({ code: 0, stdout: "Lifted forgetful's login back-off (every server on this database).\n" })
    while ((await attempt('unlock me please')).statusCode !== 200) {
      expect(Date.now()).toBeLessThan(endsAt) // the notice is asynchronous, but it beats the wait
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(Date.now()).toBeLessThan(endsAt)
    expect(await run(['unlock', 'nobody'], env)).toMatchObject({ code: 1, stderr: "mlblocks-auth: no user named 'nobody'\n" })
  }, SLOW)

  redisServer.it('reaches the shared limits in Redis (embedded database)', async () => {
    backend = await createBackend('embedded')
    const port = await freePort()
    redis = await startRedis(port)
    const redisUrl = `redis://127.0.0.1:${port}`
    app = await buildAuthServer({ backend, options: { loginFreeAttempts: 1, redisUrl } })
    await createUser(app, await login(app), { username: 'forgetful', password: 'unlock me please' })
    const { attempt, endsAt } = await lockOut(app, 'forgetful')
    const done = await run(['unlock', 'forgetful'], { MLBLOCKS_DATA_DIR: backend.options.dataDir!, REDIS_URL: redisUrl })
    expect(done).toMatchObject({ code: 0, stdout: "Lifted forgetful's login back-off (Redis).\n" })
    expect((await attempt('unlock me please')).statusCode).toBe(200)
    expect(Date.now()).toBeLessThan(endsAt)
  }, SLOW)

  it('says what to do instead on the embedded database without Redis', async () => {
    backend = await createBackend('embedded')
    const res = await run(['unlock', 'forgetful'], { MLBLOCKS_DATA_DIR: backend.options.dataDir! })
    expect(res.code).toBe(1)
    expect(res.stderr).toContain('use DELETE /admin/users/:id/lockout on the running server')
    expect(await run(['unlock'], {})).toMatchObject({ code: 2, stderr: expect.stringContaining('mlblocks-auth: unlock needs a username.') })
  }, SLOW)
})
