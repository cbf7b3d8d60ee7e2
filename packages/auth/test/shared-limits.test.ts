import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { resolveSettings } from '../src/settings.js'
import { buildAuthServer, createBackend, type Backend } from './helpers.js'
import { needs } from '../../../test-support/services.js'

const redisUrl = process.env.TEST_REDIS_URL

describe('REDIS_URL settings', () => {
  it('refuses a URL that is not redis:// with one line and the off switch', () => {
    expect(() => resolveSettings({ jwtSecret: 'a random-looking secret: 7Hq2pLm9Xv4Rt8', env: {}, redisUrl: 'http://cache:6379' })).toThrow(
      'REDIS_URL must be a redis:// or rediss:// URL: fix it, or unset it to count limits per instance, or set AUTH_ENABLED=false to turn auth off.',
    )
  })

  it('stops start-up when Redis cannot be reached', async () => {
    const backend = await createBackend('embedded')
    await expect(buildAuthServer({ backend, options: { redisUrl: 'redis://127.0.0.1:1' } })).rejects.toThrow(
      /^Cannot reach Redis at 127\.0\.0\.1:1 \(.+\): check REDIS_URL, or unset it to count limits per instance, or set AUTH_ENABLED=false to turn auth off\.$/,
    )
    await backend.drop()
  })
})

// Declared only where a Redis server is given (TEST_REDIS_URL; .ci/run sets it).
needs('redis').describe('two instances sharing one Redis', () => {
  let backends: Backend[]
  let a: FastifyInstance
  let b: FastifyInstance
  beforeAll(async () => {
    backends = await Promise.all([createBackend('embedded'), createBackend('embedded')])
    const build = (backend: Backend) => buildAuthServer({ backend, options: { redisUrl, loginRateLimit: 3, loginFreeAttempts: 2 } })
    a = await build(backends[0]!)
    b = await build(backends[1]!)
  })
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()])
    await Promise.all((backends ?? []).map((backend) => backend.drop()))
  })

  // A fresh address and name each run, so runs never share counters.
  const address = () => `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`
  const attempt = (app: FastifyInstance, username: string, remoteAddress: string) =>
    app.inject({ method: 'POST', url: '/login', payload: { username, password: 'wrong password' }, remoteAddress })

  it('share one login budget per address', async () => {
    const ip = address()
    expect((await attempt(a, `u-${randomUUID()}`, ip)).statusCode).toBe(401)
    expect((await attempt(b, `u-${randomUUID()}`, ip)).statusCode).toBe(401)
    expect((await attempt(a, `u-${randomUUID()}`, ip)).statusCode).toBe(401)
    expect((await attempt(b, `u-${randomUUID()}`, ip)).statusCode).toBe(429) // the 4th, counted across both
    expect((await attempt(a, `u-${randomUUID()}`, ip)).statusCode).toBe(429)
  })

  it('share one back-off per username', async () => {
    const name = `ghost-${randomUUID().slice(0, 8)}`
    expect((await attempt(a, name, address())).statusCode).toBe(401)
    expect((await attempt(b, name, address())).statusCode).toBe(401)
    expect((await attempt(a, name, address())).statusCode).toBe(401) // the third failure starts the back-off
    const blocked = await attempt(b, name, address())
    expect(blocked.statusCode).toBe(429)
    expect(blocked.headers['retry-after']).toBe('1')
  })
})
