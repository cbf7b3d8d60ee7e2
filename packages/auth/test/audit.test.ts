import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ADMIN, as, describeEachBackend, buildAuthServer, createBackend, createUser, issueKey, login, type Backend } from './helpers.js'

interface Event {
  event_id: number
  at: string
  action: string
  actor_id: string | null
  actor_name: string | null
  target: string | null
  status: number | null
  client_address: string | null
  request_id: string | null
}

describeEachBackend('the audit log (%s database)', (backendName) => {
  let backend: Backend
  let app: FastifyInstance
  let admin: string
  const started = new Date().toISOString()

  beforeAll(async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend })
    admin = await login(app)
  })
  afterAll(async () => {
    await app?.close()
    await backend?.drop()
  })

  const events = async (query = '') => (await as(app, admin)({ url: `/admin/audit${query}` })).json() as Event[]

  it('records logins, logouts, user and key changes and denied access, with actor, target, address and request id', async () => {
    await app.inject({ method: 'POST', url: '/login', payload: { username: ADMIN.username, password: 'wrong password!' }, remoteAddress: '10.2.0.1' })
    await app.inject({ method: 'POST', url: '/login', payload: { username: 'typed-my-password-here', password: 'x' } })
    const user = await createUser(app, admin, { username: 'audited', blocks: ['echo'] })
    const token = await login(app, 'audited', 'a long enough password')
    await as(app, admin)({ method: 'PATCH', url: `/admin/users/${user.user_id}`, payload: { blocks: ['echo', 'other'] } })
    const key = await issueKey(app, admin, user.user_id)
    await as(app, admin)({ method: 'DELETE', url: `/admin/apikeys/${key.key_id}` })
    await as(app, token)({ url: '/admin/users', headers: { 'x-request-id': 'req-denied-403' } })
    await app.inject({ url: '/blocks', headers: { 'x-request-id': 'req-denied-401' } })
    await as(app, token)({ method: 'POST', url: '/logout' })
    await as(app, admin)({ method: 'PATCH', url: `/admin/users/${user.user_id}`, payload: { disabled: true } })
    await as(app, admin)({ method: 'DELETE', url: `/admin/users/${user.user_id}` })

    const log = await events()
    const find = (action: string, extra: Partial<Event> = {}) => log.find((e) => e.action === action && Object.entries(extra).every(([k, v]) => e[k as keyof Event] === v))
    const rootId = JSON.parse(Buffer.from(admin.split('.')[1]!, 'base64url').toString()).sub
    expect(find('login.failed', { actor_name: ADMIN.username })).toMatchObject({ actor_id: rootId, status: 401, client_address: '10.2.0.1', request_id: expect.any(String) })
    expect(find('login.failed', { actor_name: null })).toBeDefined() // an unknown name is not recorded: it may be a mistyped password
    expect(JSON.stringify(log)).not.toContain('typed-my-password-here')
    expect(find('login.succeeded', { actor_name: 'audited' })).toBeDefined()
    expect(find('user.created', { target: user.user_id })).toMatchObject({ actor_id: rootId, actor_name: ADMIN.username })
    expect(find('user.changed', { target: user.user_id })).toBeDefined()
    expect(find('api_key.issued', { target: key.key_id })).toBeDefined()
    expect(find('api_key.revoked', { target: key.key_id })).toBeDefined()
    expect(find('access.denied', { request_id: 'req-denied-403' })).toMatchObject({ status: 403, actor_name: 'audited', target: 'GET /admin/users' })
    expect(find('access.denied', { request_id: 'req-denied-401' })).toMatchObject({ status: 401, actor_id: null, target: 'GET /blocks' })
    expect(find('logout', { actor_name: 'audited' })).toBeDefined()
    expect(find('user.disabled', { target: user.user_id })).toBeDefined()
    expect(find('user.deleted', { target: user.user_id })).toBeDefined()
    for (const secret of [ADMIN.password, 'a long enough password', token, key.api_key, admin]) expect(JSON.stringify(log)).not.toContain(secret)
  })

  it('filters by actor (id or name), action and time range, newest first, and pages with before and limit', async () => {
    const byName = await events('?actor=audited')
    expect(byName.length).toBeGreaterThan(0)
    expect(byName.every((e) => e.actor_name === 'audited')).toBe(true)
    const byId = await events(`?actor=${byName[0]!.actor_id}`)
    expect(byId.map((e) => e.event_id)).toEqual(byName.map((e) => e.event_id))
    expect((await events('?action=api_key.issued')).every((e) => e.action === 'api_key.issued')).toBe(true)
    expect(await events(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([])
    expect((await events(`?since=${encodeURIComponent(started)}&until=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).length).toBeGreaterThan(5)
    const all = await events()
    const ids = all.map((e) => e.event_id)
    expect(ids).toEqual([...ids].sort((a, b) => b - a))
    const page1 = await events('?limit=3')
    const page2 = await events(`?limit=3&before=${page1.at(-1)!.event_id}`)
    expect([...page1, ...page2].map((e) => e.event_id)).toEqual(ids.slice(0, 6))
    const bad = await as(app, admin)({ url: '/admin/audit?action=everything' })
    expect(bad.statusCode).toBe(400)
  })
})

describeEachBackend('audit retention (%s database)', (backendName) => {
  afterEach(() => vi.useRealTimers())

  it('drops events older than AUTH_AUDIT_RETENTION at start-up', async () => {
    const backend = await createBackend(backendName)
    const first = await buildAuthServer({ backend })
    await login(first)
    const before = (await as(first, await login(first))({ url: '/admin/audit' })).json() as Event[]
    expect(before.length).toBeGreaterThanOrEqual(2)
    await first.close()

    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 2 * 86_400_000) // two days later…
    const later = await buildAuthServer({ backend, options: { auditRetention: '1d' } }) // …with a one-day retention
    const after = (await as(later, await login(later))({ url: '/admin/audit' })).json() as Event[]
    const old = new Set(before.map((e) => e.event_id))
    expect(after.filter((e) => old.has(e.event_id))).toEqual([])
    expect(after.map((e) => e.action)).toContain('login.succeeded') // the new login is there
    await later.close()
    await backend.drop()
  })
})
