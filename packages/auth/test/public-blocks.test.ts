import type { ChildProcess } from 'node:child_process'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveSettings } from '../src/settings.js'
import { as, buildAuthServer, createBackend, createUser, describeEachBackend, issueKey, login, UNAUTHORIZED, type Backend } from './helpers.js'
import { freePort, kill, redisServer, startRedis } from './redis-server.js'
import { needs } from '../../../test-support/services.js'

// Issue 21: AUTH_PUBLIC_BLOCKS lets callers without a credential list and call those blocks, each
// client address under AUTH_ANONYMOUS_RATE_LIMIT predictions a minute; everything else stays private.

const predict = (app: FastifyInstance, block: string, remoteAddress: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `/blocks/${block}/predict`, payload: { text: 'hi' }, remoteAddress, headers })
/** A fresh address each time, so that runs (and tests) never share a quota. */
const address = () => `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`
const limited = (perMinute: number) => ({
  statusCode: 429,
  code: 'MLB_RATE_LIMITED',
  error_message: expect.stringMatching(new RegExp(`^Anonymous callers may make ${perMinute} predictions a minute from one address\\. Retry after \\d+ seconds, or send a credential\\.$`)),
})

describe('AUTH_PUBLIC_BLOCKS and AUTH_ANONYMOUS_RATE_LIMIT settings', () => {
  const good = { jwtSecret: 'a random-looking secret: 7Hq2pLm9Xv4Rt8' }
  it('reads a comma-separated list from the environment (default none) and a quota (default 30)', () => {
    expect(resolveSettings({ ...good, env: {} })).toMatchObject({ publicBlocks: [], anonymousRateLimit: 30 })
    expect(resolveSettings({ ...good, env: { AUTH_PUBLIC_BLOCKS: 'echo, other,echo', AUTH_ANONYMOUS_RATE_LIMIT: '5' } })).toMatchObject({ publicBlocks: ['echo', 'other'], anonymousRateLimit: 5 })
    expect(resolveSettings({ ...good, env: {}, publicBlocks: ['echo'] })).toMatchObject({ publicBlocks: ['echo'] })
  })

  it.each([
    [{ AUTH_PUBLIC_BLOCKS: '*' }, "AUTH_PUBLIC_BLOCKS must be block names separated by commas (no `*`: name each public block); got '*': fix it, or unset it to keep every block private, or set AUTH_ENABLED=false to turn auth off."],
    [{ AUTH_PUBLIC_BLOCKS: 'echo,,other' }, "AUTH_PUBLIC_BLOCKS must be block names separated by commas (no `*`: name each public block); got '': fix it, or unset it to keep every block private, or set AUTH_ENABLED=false to turn auth off."],
    [{ AUTH_ANONYMOUS_RATE_LIMIT: '0' }, "AUTH_ANONYMOUS_RATE_LIMIT must be a whole number of predictions per minute (1-100000); got '0': fix it, or set AUTH_ENABLED=false to turn auth off."],
  ])('%o stops start-up with one line', (env, message) => {
    expect(() => resolveSettings({ ...good, env })).toThrow(message)
  })

  it('stops start-up naming a public block the server does not serve', async () => {
    const backend = await createBackend('embedded')
    try {
      await expect(buildAuthServer({ backend, options: { publicBlocks: 'echo,ecco' } })).rejects.toThrow(
        "AUTH_PUBLIC_BLOCKS names 'ecco', which this server does not serve (its blocks: echo, other): fix the names, or unset it to keep every block private, or set AUTH_ENABLED=false to turn auth off.",
      )
    } finally {
      await backend.drop()
    }
  })
})

describeEachBackend('public blocks (%s database, quota in memory)', (backendName) => {
  let backend: Backend
  let app: FastifyInstance
  let admin: string
  beforeAll(async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, options: { publicBlocks: 'echo', anonymousRateLimit: 3 } })
    admin = await login(app)
  })
  afterAll(async () => {
    await app?.close()
    await backend?.drop()
  })

  it('lists and calls the public block without a credential; every other block stays private (401)', async () => {
    const ip = address()
    const list = await app.inject({ url: '/blocks', remoteAddress: ip })
    expect(list.statusCode).toBe(200)
    expect(list.json().map((b: { name: string }) => b.name)).toEqual(['echo'])
    expect((await app.inject({ url: '/blocks/echo', remoteAddress: ip })).json()).toMatchObject({ name: 'echo' })
    expect((await predict(app, 'echo', ip)).json()).toEqual({ text: 'hi' })
    expect((await predict(app, 'other', ip)).json()).toEqual(UNAUTHORIZED)
    expect((await app.inject({ url: '/blocks/other', remoteAddress: ip })).json()).toEqual(UNAUTHORIZED)
    expect((await app.inject({ url: '/me', remoteAddress: ip })).json()).toEqual(UNAUTHORIZED)
    expect((await app.inject({ url: '/admin/users', remoteAddress: ip })).json()).toEqual(UNAUTHORIZED)
  })

  it('limits each address to AUTH_ANONYMOUS_RATE_LIMIT predictions a minute: then 429 with Retry-After; another address is not affected', async () => {
    const ip = address()
    for (let i = 0; i < 3; i++) expect((await predict(app, 'echo', ip)).statusCode).toBe(200)
    const refused = await predict(app, 'echo', ip)
    expect(refused.statusCode).toBe(429)
    expect(refused.json()).toEqual(limited(3))
    const wait = Number(refused.headers['retry-after'])
    expect(wait).toBeGreaterThanOrEqual(1)
    expect(wait).toBeLessThanOrEqual(60)
    expect((await predict(app, 'echo', address())).statusCode).toBe(200)
    // Listing and describing are not predictions: they still answer.
    expect((await app.inject({ url: '/blocks', remoteAddress: ip })).statusCode).toBe(200)
    await app.inject({ url: '/admin/audit', headers: { authorization: `Bearer ${admin}` } }) // flushes
    const events = (await as(app, admin)({ url: '/admin/audit?action=access.limited' })).json() as Array<{ client_address: string; status: number; target: string; count: number }>
    expect(events.find((e) => e.client_address === ip)).toMatchObject({ status: 429, target: 'block:echo', count: 1 })
  })

  it('checks a credential when one is sent: a bad one is a 401, never anonymous; a good one is not counted against the address', async () => {
    const ip = address()
    const bad: Array<Record<string, string>> = [{ authorization: 'Bearer not-a-token' }, { authorization: 'Basic x' }, { 'x-api-key': 'mlb_forged' }, { authorization: `Bearer mlb_${'A'.repeat(36)}` }]
    for (const headers of bad) {
      expect((await predict(app, 'echo', ip, headers)).json(), JSON.stringify(headers)).toEqual(UNAUTHORIZED)
      expect((await app.inject({ url: '/blocks', remoteAddress: ip, headers })).json()).toEqual(UNAUTHORIZED)
    }
    // A user granted nothing may still call the public block, and sees it listed.
    const user = await createUser(app, admin, { username: 'nothing-granted', blocks: [] })
    const { api_key } = await issueKey(app, admin, user.user_id)
    for (let i = 0; i < 5; i++) expect((await predict(app, 'echo', ip, { 'x-api-key': api_key })).statusCode).toBe(200)
    expect((await predict(app, 'other', ip, { 'x-api-key': api_key })).json().code).toBe('MLB_BLOCK_NOT_GRANTED')
    expect((await app.inject({ url: '/blocks', remoteAddress: ip, headers: { 'x-api-key': api_key } })).json().map((b: { name: string }) => b.name)).toEqual(['echo'])
    expect((await app.inject({ url: '/me', headers: { 'x-api-key': api_key } })).json().access).toEqual([{ block: 'echo', via: ['public'] }])
    // The address's anonymous quota is untouched by those five.
    for (let i = 0; i < 3; i++) expect((await predict(app, 'echo', ip)).statusCode).toBe(200)
  })

  it('explains a public block in access/check and marks its routes anonymous in GET /admin/routes', async () => {
    const user = await createUser(app, admin, { username: 'checked-public', blocks: [] })
    expect((await as(app, admin)({ method: 'POST', url: '/admin/access/check', payload: { user_id: user.user_id, block: 'echo' } })).json()).toEqual({
      allowed: true,
      reason: "'echo' is a public block (AUTH_PUBLIC_BLOCKS): anyone may call it, with or without a credential.",
      via: ['public'],
    })
    const table = (await as(app, admin)({ url: '/admin/routes' })).json() as Array<{ method: string; url: string; access: string; anonymous: boolean }>
    const row = (method: string, url: string) => table.find((r) => r.method === method && r.url === url)
    expect(row('POST', '/blocks/echo/predict')).toEqual({ method: 'POST', url: '/blocks/echo/predict', access: 'block:echo', anonymous: true })
    expect(row('GET', '/blocks')).toEqual({ method: 'GET', url: '/blocks', access: 'credential', anonymous: true })
    expect(row('POST', '/blocks/other/predict')).toEqual({ method: 'POST', url: '/blocks/other/predict', access: 'block:other', anonymous: false })
  })
})

needs('redis').describe('public blocks with REDIS_URL: one quota per address across instances', () => {
  let backends: Backend[]
  let a: FastifyInstance
  let b: FastifyInstance
  beforeAll(async () => {
    backends = await Promise.all([createBackend('embedded'), createBackend('embedded')])
    const build = (backend: Backend) => buildAuthServer({ backend, options: { redisUrl: process.env.TEST_REDIS_URL, publicBlocks: 'echo', anonymousRateLimit: 3 } })
    a = await build(backends[0]!)
    b = await build(backends[1]!)
  })
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()])
    await Promise.all((backends ?? []).map((backend) => backend.drop()))
  })

  it('counts an address’s predictions on both instances together', async () => {
    const ip = address()
    expect((await predict(a, 'echo', ip)).statusCode).toBe(200)
    expect((await predict(b, 'echo', ip)).statusCode).toBe(200)
    expect((await predict(a, 'echo', ip)).statusCode).toBe(200)
    const refused = await predict(b, 'echo', ip) // the 4th, counted across both
    expect(refused.json()).toEqual(limited(3))
    expect(refused.headers['retry-after']).toMatch(/^\d+$/)
    expect((await predict(a, 'echo', ip)).statusCode).toBe(429)
  })
})

redisServer.describe('public blocks when Redis dies mid-run', () => {
  let backend: Backend
  let redis: ChildProcess
  let app: FastifyInstance
  let port: number
  beforeAll(async () => {
    backend = await createBackend('embedded')
    port = await freePort()
    redis = await startRedis(port)
    app = await buildAuthServer({ backend, options: { redisUrl: `redis://127.0.0.1:${port}`, publicBlocks: 'echo', anonymousRateLimit: 2 } })
  }, 240_000)
  afterAll(async () => {
    await app?.close()
    if (redis) await kill(redis)
    await backend?.drop()
  })

  it('keeps counting in this instance’s memory: never a 5xx, never unlimited', async () => {
    await kill(redis)
    const ip = address()
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await predict(app, 'echo', ip)).statusCode)
    expect(statuses).toEqual([200, 200, 429, 429])
    redis = await startRedis(port) // back, so that the server closes as it would in production
  })
})
