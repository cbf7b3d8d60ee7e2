import { afterEach, beforeEach, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { ADMIN, as, bearer, buildAuthServer, createBackend, createUser, describeEachBackend, issueKey, login, UNAUTHORIZED, type Backend } from './helpers.js'
import { sample } from '../../../test-support/prometheus.js'

describeEachBackend('GET /metrics with auth on (%s)', (backendName) => {
  let backend: Backend
  let app: FastifyInstance
  beforeEach(async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend })
  })
  afterEach(async () => {
    await app.close()
    await backend.drop()
  })

  it('needs a credential (401) and an admin (403): a user token or a user key cannot read it', async () => {
    expect((await app.inject({ method: 'GET', url: '/metrics' })).json()).toEqual(UNAUTHORIZED)
    const admin = await login(app)
    const user = await createUser(app, admin, { username: 'alice' })
    const token = await login(app, 'alice', 'a long enough password')
    const key = (await issueKey(app, admin, user.user_id)).api_key
    for (const credential of [token, key]) {
      const res = await as(app, credential)({ method: 'GET', url: '/metrics' })
      expect(res.statusCode).toBe(403)
      expect(res.json()).toEqual({ statusCode: 403, code: 'MLB_ADMIN_ONLY', error_message: 'This route is for admins only.' })
      expect(res.body).not.toContain('mlblocks_')
    }
    const res = await as(app, admin)({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain('mlblocks_auth_logins_total')
  })

  it("a service account's API key scrapes it (the documented scrape credential); its scoped key and the account's other admin routes do not", async () => {
    const admin = await login(app)
    const created = await as(app, admin)({ method: 'POST', url: '/admin/users', payload: { username: 'prometheus', role: 'service', blocks: [] } })
    expect(created.statusCode).toBe(201)
    const service = created.json() as { user_id: string }
    const key = (await issueKey(app, admin, service.user_id)).api_key
    const scrape = await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': key } })
    expect(scrape.statusCode).toBe(200)
    expect(scrape.body).toContain('mlblocks_block_requests_total')
    // Monitoring only: the service account is no admin anywhere else.
    expect((await app.inject({ method: 'GET', url: '/admin/users', headers: { 'x-api-key': key } })).json().code).toBe('MLB_ADMIN_ONLY')
    const scoped = (await as(app, admin)({ method: 'POST', url: '/admin/apikeys', payload: { user_id: service.user_id, blocks: ['echo'] } })).json() as { api_key: string }
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': scoped.api_key } })).statusCode).toBe(403)
  })

  it("an admin's API key scrapes it (X-API-Key)", async () => {
    const admin = await login(app)
    const me = (await as(app, admin)({ method: 'GET', url: '/me' })).json() as { user_id: string }
    const key = (await issueKey(app, admin, me.user_id)).api_key
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': key } })
    expect(res.statusCode).toBe(200)
  })

  it('counts logins by outcome, 401/403/429 answers and credential-cache hits and misses', async () => {
    const admin = await login(app)
    await createUser(app, admin, { username: 'bob', blocks: ['echo'] })
    const bob = await login(app, 'bob', 'a long enough password')
    for (let i = 0; i < 2; i++) await app.inject({ method: 'POST', url: '/login', payload: { username: 'bob', password: 'wrong password!!' } })
    await app.inject({ method: 'POST', url: '/login', payload: { username: 'nobody', password: 'wrong password!!' } })
    await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'x' } }) // 401
    await app.inject({ method: 'POST', url: '/blocks/echo/predict', headers: bearer('not-a-token'), payload: { text: 'x' } }) // 401
    await as(app, bob)({ method: 'POST', url: '/blocks/other/predict', payload: { text: 'x' } }) // 403
    await as(app, bob)({ method: 'GET', url: '/admin/users' }) // 403
    for (let i = 0; i < 3; i++) await as(app, bob)({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'x' } })
    const text = (await as(app, admin)({ method: 'GET', url: '/metrics' })).body
    expect(sample(text, 'mlblocks_auth_logins_total{outcome="succeeded"}')).toBe(2)
    expect(sample(text, 'mlblocks_auth_logins_total{outcome="failed"}')).toBe(3)
    expect(sample(text, 'mlblocks_auth_logins_total{outcome="limited"}')).toBe(0)
    // Three failed logins, two predicts without a good credential.
    expect(sample(text, 'mlblocks_auth_denied_total{status="401"}')).toBe(5)
    expect(sample(text, 'mlblocks_auth_denied_total{status="403"}')).toBe(2)
    expect(sample(text, 'mlblocks_block_requests_total{block="echo",status="200"}')).toBe(3)
    expect(sample(text, 'mlblocks_block_requests_total{block="echo",status="401"}')).toBe(2)
    expect(sample(text, 'mlblocks_block_requests_total{block="other",status="403"}')).toBe(1)
    const hits = sample(text, 'mlblocks_auth_credential_cache_hits_total')!
    const misses = sample(text, 'mlblocks_auth_credential_cache_misses_total')!
    expect(misses).toBeGreaterThanOrEqual(3) // bob's token, the admin's token, the bad token at least once each
    expect(hits).toBeGreaterThanOrEqual(3) // bob's later calls
    expect(sample(text, 'mlblocks_auth_credential_cache_entries')).toBeGreaterThanOrEqual(2)
    expect(sample(text, `mlblocks_auth_db_pool_size{database="${backendName}"}`)).toBe(backendName === 'postgres' ? 10 : 1)
    expect(sample(text, 'mlblocks_auth_db_lookups_in_flight')).toBe(0)
    // No secret in what a scraper sees: no token, no username typed at login.
    for (const secret of [bob, admin, ADMIN.password, 'nobody']) expect(text).not.toContain(secret)
  })
})

describeEachBackend('login limits on /metrics (%s)', (backendName) => {
  let backend: Backend
  let app: FastifyInstance
  afterEach(async () => {
    await app.close()
    await backend.drop()
  })

  it('a limited login counts as limited and as a 429', async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, options: { loginRateLimit: 2 } })
    const admin = await login(app)
    for (let i = 0; i < 4; i++) await app.inject({ method: 'POST', url: '/login', remoteAddress: '10.9.9.9', payload: { username: 'x', password: 'wrong password!!' } })
    const text = (await as(app, admin)({ method: 'GET', url: '/metrics' })).body
    expect(sample(text, 'mlblocks_auth_logins_total{outcome="limited"}')).toBeGreaterThanOrEqual(1)
    expect(sample(text, 'mlblocks_auth_denied_total{status="429"}')).toBe(sample(text, 'mlblocks_auth_logins_total{outcome="limited"}'))
  })
})
