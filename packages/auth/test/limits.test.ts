import { afterEach, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
// The module instance the plugin runs (core imports auth's build), to count the password checks it makes.
import { workers } from '../dist/services/passwords.js'
import { ADMIN, as, describeEachBackend, buildAuthServer, createBackend, createUser, issueKey, login, type Backend } from './helpers.js'

/** argon2 runs at idle CPU priority: on a busy machine these tests take minutes, not seconds. */
const SLOW = 240_000
const limited = (message: string) => ({ statusCode: 429, code: 'MLB_RATE_LIMITED', error_message: message })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const attempt = (app: FastifyInstance, username: string, password: string, remoteAddress = '10.0.0.1', headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/login', payload: { username, password }, remoteAddress, headers })

async function auditOf(app: FastifyInstance, action: string) {
  const admin = await login(app, ADMIN.username, ADMIN.password)
  const res = await as(app, admin)({ url: `/admin/audit?action=${action}` })
  expect(res.statusCode).toBe(200)
  return res.json() as Array<{ action: string; target: string | null; status: number | null; client_address: string | null; actor_name: string | null }>
}

describeEachBackend('login limits (%s database)', (backendName) => {
  let backend: Backend | undefined
  let app: FastifyInstance | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
    await backend?.drop()
    backend = undefined
  })

  it('backs off one username from every address, the same way whether it exists or not; a success resets it', async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, options: { loginFreeAttempts: 2 } })
    for (const username of [ADMIN.username, 'nobody']) {
      expect((await attempt(app, username, 'wrong password 1', '10.0.0.1')).statusCode).toBe(401)
      expect((await attempt(app, username, 'wrong password 2', '10.0.0.2')).statusCode).toBe(401)
      // Two at once (argon2 may take longer than the first 1 s wait on a busy machine): one starts
      // the back-off, the other waits for it.
      const pair = await Promise.all([attempt(app, username, 'wrong password 3', '10.0.0.3'), attempt(app, username, 'wrong password 4', '10.0.0.4')])
      expect(pair.map((r) => r.statusCode).sort()).toEqual([401, 429])
      const blocked = pair.find((r) => r.statusCode === 429)!
      expect(blocked.json()).toEqual(limited('Too many login attempts. Retry after 1 seconds.'))
      expect(blocked.headers['retry-after']).toBe('1')
    }
    await sleep(1100)
    expect((await attempt(app, ADMIN.username, ADMIN.password, '10.0.0.5')).statusCode).toBe(200)
    expect((await attempt(app, ADMIN.username, 'wrong again', '10.0.0.5')).statusCode).toBe(401) // counting from zero again
  }, SLOW)

  it('doubles the wait per failure (not per request), caps it at AUTH_LOGIN_MAX_BACKOFF, and Retry-After tells the remaining time', async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, options: { loginFreeAttempts: 1, loginMaxBackoff: '8s' } })
    const wait = async () => Number((await attempt(app!, 'ada', 'refused')).headers['retry-after'] ?? 0)
    // Failures 1 (free), 2, 3, 4: each started after the wait the one before set (0, 1, 2 s).
    for (const pause of [0, 0, 1, 2]) {
      await sleep(pause * 1000 + 50)
      expect((await attempt(app, 'ada', 'wrong')).statusCode).toBe(401)
    }
    // The 4th failure closed the name for 4 s (from its start, argon2 included); refusals meanwhile
    // do not make it longer: Retry-After only counts down.
    const waits = [await wait()]
    for (let i = 0; i < 20; i++) waits.push(await wait())
    expect(waits[0]).toBeGreaterThan(0)
    expect(waits[0]).toBeLessThanOrEqual(4)
    for (let i = 1; i < waits.length; i++) expect(waits[i]).toBeLessThanOrEqual(waits[i - 1]!)
    await sleep(4050)
    expect((await attempt(app, 'ada', 'wrong')).statusCode).toBe(401) // 5th: 8 s, the cap
    const fifth = await wait()
    expect(fifth).toBeGreaterThan(4)
    expect(fifth).toBeLessThanOrEqual(8)
    await sleep(8050)
    expect((await attempt(app, 'ada', 'wrong')).statusCode).toBe(401) // 6th: 16 s, capped at 8 s
    const capped = await attempt(app, 'ada', 'refused')
    expect(capped.json()).toEqual(limited(expect.stringMatching(/^Too many login attempts\. Retry after [5-8] seconds\.$/)))
    const before = Number(capped.headers['retry-after'])
    await sleep(2000)
    expect(await wait()).toBeLessThanOrEqual(before - 1) // the real remaining time
  }, SLOW)

  it('counts only failed logins: requests with no or a bad body never lock an address or a name', async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, options: { loginRateLimit: 2, loginFreeAttempts: 1 } })
    for (let i = 0; i < 30; i++) {
      expect((await app.inject({ method: 'POST', url: '/login', remoteAddress: '10.2.0.1' })).statusCode).toBe(400)
      expect((await app.inject({ method: 'POST', url: '/login', payload: { username: ADMIN.username }, remoteAddress: '10.2.0.1' })).statusCode).toBe(400)
    }
    // Successes do not count either.
    for (let i = 0; i < 5; i++) expect((await attempt(app, ADMIN.username, ADMIN.password, '10.2.0.1')).statusCode).toBe(200)
  }, SLOW)

  it("failures against one account never stop another account's correct login from the same address, until the address passes its own cap", async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, options: { loginRateLimit: 4, loginFreeAttempts: 1 } })
    const admin = await login(app, ADMIN.username, ADMIN.password)
    await createUser(app, admin, { username: 'colleague', password: 'colleague password' })
    const office = '192.0.2.10'
    expect((await attempt(app, 'victim', 'guess 1', office)).statusCode).toBe(401)
    // At once: one starts the victim's back-off, the other waits for it.
    const pair = await Promise.all([attempt(app, 'victim', 'guess 2', office), attempt(app, 'victim', 'guess 3', office)])
    expect(pair.map((r) => r.statusCode).sort()).toEqual([401, 429])
    expect((await attempt(app, 'colleague', 'colleague password', office)).statusCode).toBe(200)
    expect((await attempt(app, 'other1', 'guess', office)).statusCode).toBe(401)
    expect((await attempt(app, 'other2', 'guess', office)).statusCode).toBe(401) // the 4th failure of this address
    const capped = await attempt(app, 'colleague', 'colleague password', office)
    expect(capped.json()).toEqual(limited(expect.stringMatching(/^Too many login attempts\. Retry after \d+ seconds\.$/)))
    expect(Number(capped.headers['retry-after'])).toBeGreaterThan(0)
    expect(Number(capped.headers['retry-after'])).toBeLessThanOrEqual(60)
    // Another address is not affected.
    expect((await attempt(app, 'colleague', 'colleague password', '192.0.2.11')).statusCode).toBe(200)
    // Every 429 is in the audit log, with the client address and which limit it was, never the typed name.
    const events = await auditOf(app, 'login.limited')
    expect(events.map((e) => [e.target, e.status, e.client_address])).toEqual([
      ['/login address', 429, office],
      ['/login username', 429, office],
    ])
    expect(JSON.stringify(events)).not.toContain('victim')
  }, SLOW)

  it('counts an IPv6 client by its /64: a guesser rotating through its prefix is limited as one address, the next /64 is not', async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, options: { loginRateLimit: 3, loginFreeAttempts: 100 } })
    const prefix = '2001:db8:77:1'
    for (let i = 1; i <= 3; i++) expect((await attempt(app, `user${i}`, 'guess', `${prefix}::${i.toString(16)}`)).statusCode).toBe(401)
    // A fresh address of the same /64: still the same client, past its cap.
    expect((await attempt(app, 'user4', 'guess', `${prefix}:abcd:ef01:2345:6789`)).statusCode).toBe(429)
    expect((await attempt(app, ADMIN.username, ADMIN.password, `${prefix}::ffff`)).statusCode).toBe(429)
    // The neighbouring /64, and an IPv4 client, are other clients.
    expect((await attempt(app, ADMIN.username, ADMIN.password, '2001:db8:77:2::1')).statusCode).toBe(200)
    expect((await attempt(app, ADMIN.username, ADMIN.password, '::ffff:192.0.2.77')).statusCode).toBe(200)
  })

  it('reserves the attempt before argon2: of 200 concurrent guesses for one name, only the free ones and one more reach the password check', async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, options: { loginFreeAttempts: 3, loginRateLimit: 100_000 } })
    const before = workers.counts.verify
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => attempt(app!, ADMIN.username, `guess ${i}`, `10.3.${Math.floor(i / 250)}.${i % 250}`)),
    )
    const checks = workers.counts.verify - before
    const statuses = answers.map((r) => r.statusCode)
    expect(statuses.filter((s) => s === 401)).toHaveLength(4) // 3 free + the one that starts the back-off
    expect(statuses.filter((s) => s === 429)).toHaveLength(196)
    expect(checks).toBe(4)
    // The refused ones gave their reservations back: the next failure is the 5th (a 2 s wait), not the 201st (the cap).
    await sleep(1100)
    const next = await Promise.all([attempt(app, ADMIN.username, 'guess 201'), attempt(app, ADMIN.username, 'guess 202')])
    expect(next.map((r) => r.statusCode).sort()).toEqual([401, 429])
    expect(Number(next.find((r) => r.statusCode === 429)!.headers['retry-after'])).toBeLessThanOrEqual(2)
  }, SLOW)

  it('lets an admin lift a lockout at once: DELETE /admin/users/:id/lockout (204, audited; 404 unknown id; admins only)', async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, options: { loginFreeAttempts: 1 } })
    const admin = await login(app)
    const user = await createUser(app, admin, { username: 'locked', password: 'locked password 1' })
    // Failures as the waits allow (1, 2, 4, 8 s), until the next wait is 16 s; case gives no fresh back-off.
    for (const [i, pause] of [0, 0, 1, 2, 4, 8].entries()) {
      await sleep(pause * 1000 + 50)
      expect((await attempt(app, i % 2 ? 'LOCKED' : 'locked', 'wrong password')).statusCode).toBe(401)
    }
    const endsAt = Date.now() + 14_000
    const locked = await attempt(app, 'locked', 'locked password 1') // the right password waits too
    expect(locked.statusCode).toBe(429)
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(14)
    const unlock = await as(app, admin)({ method: 'DELETE', url: `/admin/users/${user.user_id}/lockout` })
    expect(unlock.statusCode).toBe(204)
    expect((await attempt(app, 'locked', 'locked password 1')).statusCode).toBe(200)
    expect(Date.now()).toBeLessThan(endsAt) // lifted, not waited out
    const unknown = await as(app, admin)({ method: 'DELETE', url: '/admin/users/00000000-0000-4000-8000-000000000000/lockout' })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json()).toMatchObject({ code: 'MLB_USER_NOT_FOUND' })
    const plain = await login(app, 'locked', 'locked password 1')
    expect((await as(app, plain)({ method: 'DELETE', url: `/admin/users/${user.user_id}/lockout` })).statusCode).toBe(403)
    const events = await auditOf(app, 'user.unlocked')
    expect(events).toEqual([expect.objectContaining({ action: 'user.unlocked', target: user.user_id, actor_name: ADMIN.username })])
  }, SLOW)

  it('keys per-address limits on the client address: X-Forwarded-For is ignored unless TRUST_PROXY names the proxy', async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, options: { loginRateLimit: 2, loginFreeAttempts: 100 } })
    const spoof = (i: number) => ({ 'x-forwarded-for': `198.51.100.${i}` })
    expect((await attempt(app, 'a', 'wrong', '10.4.0.1', spoof(1))).statusCode).toBe(401)
    expect((await attempt(app, 'b', 'wrong', '10.4.0.1', spoof(2))).statusCode).toBe(401)
    expect((await attempt(app, 'c', 'wrong', '10.4.0.1', spoof(3))).statusCode).toBe(429) // a fresh header buys nothing
    await app.close()

    app = await buildAuthServer({ backend, env: { TRUST_PROXY: '10.4.0.1' }, options: { loginRateLimit: 2, loginFreeAttempts: 100 } })
    for (const client of [1, 2]) {
      expect((await attempt(app, 'a', 'wrong', '10.4.0.1', spoof(client))).statusCode).toBe(401)
      expect((await attempt(app, 'b', 'wrong', '10.4.0.1', spoof(client))).statusCode).toBe(401)
      expect((await attempt(app, 'c', 'wrong', '10.4.0.1', spoof(client))).statusCode).toBe(429)
    }
    expect((await attempt(app, ADMIN.username, ADMIN.password, '10.4.0.1', spoof(3))).statusCode).toBe(200) // a third client behind the proxy
    // From anyone but the proxy, the header is still not believed.
    expect((await attempt(app, 'a', 'wrong', '10.4.0.9', spoof(3))).statusCode).toBe(401)
    expect((await attempt(app, 'b', 'wrong', '10.4.0.9', spoof(4))).statusCode).toBe(401)
    expect((await attempt(app, 'c', 'wrong', '10.4.0.9', spoof(5))).statusCode).toBe(429)
    const events = await auditOf(app, 'login.limited')
    expect(events.map((e) => e.client_address).sort()).toEqual(['10.4.0.1', '10.4.0.9', '198.51.100.1', '198.51.100.2'])
  }, SLOW)

  it('bounds the argon2 queue: a flood of 1,000 logins gets 503 with Retry-After at once past it, never a 500', async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, options: { loginRateLimit: 100_000 } })
    workers.maxQueued = 0
    const flood = await Promise.all(Array.from({ length: 1000 }, (_, i) => attempt(app!, `flood${i}`, 'wrong password', `10.5.${i >> 8}.${i & 255}`)))
    const statuses = new Map<number, number>()
    for (const r of flood) statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1)
    expect([...statuses.keys()].sort()).toEqual([401, 503])
    const busy = flood.find((r) => r.statusCode === 503)!
    expect(busy.json()).toEqual({ statusCode: 503, code: 'MLB_UNAVAILABLE', error_message: 'Too many logins are waiting for their password check. Retry in a second.' })
    expect(busy.headers['retry-after']).toBe('1')
    expect(workers.maxQueued).toBeLessThanOrEqual((workers as unknown as { maxQueue: number }).maxQueue)
    // A 503 is not a failure: those names have no back-off, and the real user logs in afterwards.
    expect((await attempt(app, ADMIN.username, ADMIN.password)).statusCode).toBe(200)
  }, SLOW)

  it('gives each API key (or user, for tokens) its own request budget on block routes', async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, options: { requestRateLimit: 3 } })
    const admin = await login(app)
    const user = await createUser(app, admin, { username: 'budgeted' })
    const [one, two] = [await issueKey(app, admin, user.user_id), await issueKey(app, admin, user.user_id)]
    const call = (key: string) => as(app!, key)({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'x' } })
    for (let i = 0; i < 3; i++) expect((await call(one.api_key)).statusCode).toBe(200)
    const over = await call(one.api_key)
    expect(over.statusCode).toBe(429)
    expect(over.json()).toEqual(limited(expect.stringMatching(/^This credential has used its request budget\. Retry after \d+ seconds\.$/)))
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0)
    expect((await call(two.api_key)).statusCode).toBe(200) // another key has its own budget
    expect((await as(app, admin)({ url: '/me' })).statusCode).toBe(200) // non-block routes are not budgeted
  }, SLOW)
})
