import { afterEach, describe, expect, it } from 'vitest'
import { LoginGuard } from '../src/services/login-guard.js'
import { ADMIN, as, describeEachBackend, buildAuthServer, createBackend, createUser, issueKey, login, type Backend } from './helpers.js'

const limited = (message: string) => ({ statusCode: 429, code: 'MLB_RATE_LIMITED', error_message: message })

describe('LoginGuard back-off', () => {
  it('lets the free attempts through, then doubles the wait with each failure up to the maximum', () => {
    const guard = new LoginGuard({ freeAttempts: 3, baseDelayMs: 1000, maxDelayMs: 8000, forgetAfterMs: 3_600_000 })
    const t = 1_000_000
    for (let i = 0; i < 3; i++) {
      expect(guard.waitFor('ada', t)).toBe(0)
      guard.failed('ada', t)
    }
    expect(guard.waitFor('ada', t)).toBe(0)
    const waits = []
    for (let i = 0; i < 5; i++) {
      guard.failed('ada', t)
      waits.push(guard.waitFor('ada', t))
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 8000])
    expect(guard.waitFor('bob', t)).toBe(0)
    guard.succeeded('ada')
    expect(guard.waitFor('ada', t)).toBe(0)
  })

  it('forgets old failures', () => {
    const guard = new LoginGuard({ freeAttempts: 1, baseDelayMs: 1000, maxDelayMs: 8000, forgetAfterMs: 60_000 })
    guard.failed('ada', 0)
    guard.failed('ada', 0)
    expect(guard.waitFor('ada', 500)).toBe(500)
    expect(guard.waitFor('ada', 61_000)).toBe(0)
  })
})

describeEachBackend('limits (%s database)', (backendName) => {
  let backend: Backend | undefined
  afterEach(async () => {
    await backend?.drop()
    backend = undefined
  })

  it('backs off one username from every address, the same way whether it exists or not; a success resets it', async () => {
    backend = await createBackend(backendName)
    const app = await buildAuthServer({ backend, options: { loginFreeAttempts: 2 } })
    const attempt = (username: string, password: string, address: string) =>
      app.inject({ method: 'POST', url: '/login', payload: { username, password }, remoteAddress: address })
    for (const username of [ADMIN.username, 'nobody']) {
      expect((await attempt(username, 'wrong password 1', '10.0.0.1')).statusCode).toBe(401)
      expect((await attempt(username, 'wrong password 2', '10.0.0.2')).statusCode).toBe(401)
      expect((await attempt(username, 'wrong password 3', '10.0.0.3')).statusCode).toBe(401) // starts the back-off
      const blocked = await attempt(username, ADMIN.password, '10.0.0.4')
      expect(blocked.json()).toEqual(limited('Too many login attempts. Retry after 1 seconds.'))
      expect(blocked.headers['retry-after']).toBe('1')
    }
    await new Promise((r) => setTimeout(r, 1100))
    expect((await attempt(ADMIN.username, ADMIN.password, '10.0.0.5')).statusCode).toBe(200)
    expect((await attempt(ADMIN.username, 'wrong again', '10.0.0.5')).statusCode).toBe(401) // counting from zero again
    await app.close()
  })

  it('limits one address across usernames, the wait growing while it keeps trying', async () => {
    backend = await createBackend(backendName)
    const app = await buildAuthServer({ backend, options: { loginRateLimit: 2 } })
    const attempt = (i: number) => app.inject({ method: 'POST', url: '/login', payload: { username: `user${i}`, password: 'wrong password' }, remoteAddress: '10.1.1.1' })
    expect((await attempt(1)).statusCode).toBe(401)
    expect((await attempt(2)).statusCode).toBe(401)
    const first = await attempt(3)
    const second = await attempt(4)
    expect(first.statusCode).toBe(429)
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(Number(first.headers['retry-after']))
    expect((await app.inject({ method: 'POST', url: '/login', payload: ADMIN, remoteAddress: '10.1.1.2' })).statusCode).toBe(200)
    await app.close()
  })

  it('gives each API key (or user, for tokens) its own request budget on block routes', async () => {
    backend = await createBackend(backendName)
    const app = await buildAuthServer({ backend, options: { requestRateLimit: 3 } })
    const admin = await login(app)
    const user = await createUser(app, admin, { username: 'budgeted' })
    const [one, two] = [await issueKey(app, admin, user.user_id), await issueKey(app, admin, user.user_id)]
    const call = (key: string) => as(app, key)({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'x' } })
    for (let i = 0; i < 3; i++) expect((await call(one.api_key)).statusCode).toBe(200)
    const over = await call(one.api_key)
    expect(over.statusCode).toBe(429)
    expect(over.json()).toEqual(limited(expect.stringMatching(/^This credential has used its request budget\. Retry after \d+ seconds\.$/)))
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0)
    expect((await call(two.api_key)).statusCode).toBe(200) // another key has its own budget
    expect((await as(app, admin)({ url: '/me' })).statusCode).toBe(200) // non-block routes are not budgeted
    await app.close()
  })
})
