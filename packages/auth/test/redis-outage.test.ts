import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { freePort, kill, redisServer, startRedis } from './redis-server.js'
import { as, describeEachBackend, buildAuthServer, createBackend, createUser, issueKey, login, logCollector, type Backend } from './helpers.js'

const SLOW = 240_000

redisServer.describe('Redis dying mid-run', () => describeEachBackend('%s database', (backendName) => {
  let backend: Backend
  let port: number
  let redis: ChildProcess
  let app: FastifyInstance
  let probe: Redis
  const log = logCollector()
  beforeAll(async () => {
    backend = await createBackend(backendName)
    port = await freePort()
    redis = await startRedis(port)
    probe = new Redis({ port, lazyConnect: true })
    probe.on('error', () => undefined) // it sees the outage too
    await probe.connect()
    app = await buildAuthServer({
      backend,
      logStream: log.stream,
      options: { redisUrl: `redis://127.0.0.1:${port}`, loginFreeAttempts: 2, loginMaxBackoff: '10m', requestRateLimit: 1000 },
    })
  }, SLOW)
  afterAll(async () => {
    probe?.disconnect()
    await app?.close()
    if (redis) await kill(redis)
    await backend?.drop()
  })

  const attempt = (username: string, password: string) => app.inject({ method: 'POST', url: '/login', payload: { username, password }, remoteAddress: '10.9.0.1' })

  it('keeps its keys in Redis with a TTL bounded by the cap (no two-year keys)', async () => {
    for (let i = 0; i < 4; i++) await attempt('ttl-user', 'wrong password')
    const keys = (await probe.keys('mlblocks:auth:login:*')).sort()
    expect(keys).toEqual(['mlblocks:auth:login:address:10.9.0.1', 'mlblocks:auth:login:user:ttl-user', 'mlblocks:auth:login:wait:ttl-user'])
    const ttls = Object.fromEntries(await Promise.all(keys.map(async (k) => [k.split(':')[3], await probe.pttl(k)] as const)))
    expect(ttls.address).toBeGreaterThan(0)
    expect(ttls.address).toBeLessThanOrEqual(60_000)
    expect(ttls.user).toBeGreaterThan(0)
    expect(ttls.user).toBeLessThanOrEqual(Math.max(3_600_000, 4 * 600_000)) // forgotten after an hour, or four caps
    expect(ttls.wait).toBeGreaterThan(0)
    expect(ttls.wait).toBeLessThanOrEqual(600_000)
  }, SLOW)

  it('answers every login and block request without Redis (no 5xx, no stall), logs the outage once, and shares the limits again when Redis is back', async () => {
    const admin = await login(app)
    const user = await createUser(app, admin, { username: 'steady', password: 'steady password 1' })
    const { api_key } = await issueKey(app, admin, user.user_id)
    const block = () => as(app, api_key)({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'x' } })
    expect((await block()).statusCode).toBe(200)

    await kill(redis)
    const statuses: number[] = []
    let slowestWithoutArgon2 = 0
    const timed = async <R extends { statusCode: number }>(call: () => Promise<R>, noArgon2: boolean): Promise<R> => {
      const started = Date.now()
      const res = await call()
      if (noArgon2) slowestWithoutArgon2 = Math.max(slowestWithoutArgon2, Date.now() - started)
      statuses.push(res.statusCode)
      return res
    }
    expect((await timed(() => attempt('steady', 'steady password 1'), false)).statusCode).toBe(200)
    // The per-username back-off goes on, in this instance's memory.
    for (let i = 0; i < 3; i++) expect((await timed(() => attempt('outage-user', 'wrong password'), false)).statusCode).toBe(401)
    for (let i = 0; i < 20; i++) {
      const refused = await timed(() => attempt('outage-user', 'wrong password'), true) // refused before argon2
      expect(refused.statusCode).toBe(429)
      expect(refused.headers['retry-after']).toBe('1')
      expect((await timed(block, true)).statusCode).toBe(200)
    }
    expect(statuses.every((s) => s < 500)).toBe(true)
    // The old client (offline queue, retries) took 1.3-3.1 s per request here, then a 500.
    expect(slowestWithoutArgon2).toBeLessThan(1000)
    const outageLines = log.text().split('\n').filter((l) => l.includes('Redis is unreachable'))
    expect(outageLines).toHaveLength(1)
    console.log(`redis outage: slowest refused login or block request ${slowestWithoutArgon2} ms`)

    redis = await startRedis(port)
    const started = Date.now()
    while (!log.text().includes('Redis is back')) {
      expect(Date.now() - started).toBeLessThan(15_000)
      await new Promise((r) => setTimeout(r, 100))
    }
    probe.disconnect()
    probe = new Redis({ port, lazyConnect: true })
    probe.on('error', () => undefined) // it sees the outage too
    await probe.connect()
    expect((await attempt('after-user', 'wrong password')).statusCode).toBe(401)
    expect(await probe.exists('mlblocks:auth:login:user:after-user')).toBe(1) // counted in Redis again
    expect((await block()).statusCode).toBe(200)
    expect(log.text().split('\n').filter((l) => l.includes('Redis is unreachable'))).toHaveLength(1)
  }, SLOW)
}))
