import { afterEach, describe, expect, it } from 'vitest'
import { relay } from './pg-relay.js'
import { as, buildAuthServer, createBackend, createUser, issueKey, login, type Backend } from './helpers.js'
import { needs } from '../../../test-support/services.js'

const pgUrl = process.env.TEST_DATABASE_URL

// Declared only where a Postgres server is given (TEST_DATABASE_URL; .ci/run sets it).
needs('postgres').describe('a database outage under load', () => {
  let backend: Backend | undefined
  afterEach(async () => {
    await backend?.drop()
    backend = undefined
  })

  it('answers every request (200 or 503, never a 500 or a hang), recovers by itself, and loses no user, key or token', async () => {
    backend = await createBackend('postgres')
    const database = new URL(backend.options.databaseUrl!).pathname.slice(1)
    const tcp = await relay(new URL(pgUrl!))
    const app = await buildAuthServer({ backend, options: { databaseUrl: tcp.url(database), cacheTtl: '0' } })
    const admin = await login(app)
    const user = await createUser(app, admin, { username: 'steady', blocks: ['echo'] })
    const { api_key } = await issueKey(app, admin, user.user_id)
    const token = await login(app, 'steady', 'a long enough password')

    const statuses = new Map<number, number>()
    let slowest = 0
    let running = true
    const client = async (credential: string) => {
      while (running) {
        const started = Date.now()
        const res = await as(app, credential)({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'load' } })
        slowest = Math.max(slowest, Date.now() - started)
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
        if (res.statusCode !== 200) expect(res.json()).toMatchObject({ statusCode: 503, code: 'MLB_UNAVAILABLE' })
        await new Promise((r) => setTimeout(r, 1)) // a client pauses between requests; timers run
      }
    }
    const load = Promise.all([...Array(4)].map((_, i) => client(i % 2 ? api_key : token)))
    await new Promise((r) => setTimeout(r, 500))
    await tcp.cut()
    await new Promise((r) => setTimeout(r, 1500))
    const readyz = await app.inject('/readyz')
    expect(readyz.statusCode).toBe(503)
    await tcp.restore()
    // Recovers by itself: the driver reconnects on the next query.
    const started = Date.now()
    while ((await as(app, token)({ url: '/me' })).statusCode !== 200) {
      expect(Date.now() - started).toBeLessThan(15_000)
      await new Promise((r) => setTimeout(r, 200))
    }
    console.log(`outage test: recovered ${Date.now() - started} ms after the database came back; answers ${JSON.stringify([...statuses])}; slowest ${slowest} ms`)
    await new Promise((r) => setTimeout(r, 500))
    running = false
    await load

    expect([...statuses.keys()].sort()).toEqual([200, 503]) // both happened, nothing else
    expect(slowest).toBeLessThan(7000) // bounded: the 5 s database deadline plus scheduling
    expect((await app.inject('/readyz')).statusCode).toBe(200)
    // Nothing lost: the same user, key and token work, and a new login too.
    expect((await as(app, api_key)({ url: '/me' })).json()).toMatchObject({ username: 'steady' })
    expect((await as(app, token)({ url: '/me' })).statusCode).toBe(200)
    expect(await login(app, 'steady', 'a long enough password')).toBeTruthy()
    await app.close()
    await tcp.close()
  })
})
