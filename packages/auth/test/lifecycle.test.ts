import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { as, describeEachBackend, buildAuthServer, createBackend, createUser, issueKey, login, UNAUTHORIZED, type Backend } from './helpers.js'

const PASSWORD = 'a long enough password'

describeEachBackend('credentials over their lifetime (%s database)', (backendName) => {
  let backend: Backend
  let app: FastifyInstance
  let admin: string
  let n = 0
  /** A fresh user with a login token and an API key. */
  async function subject(extra: Record<string, unknown> = {}) {
    const user = await createUser(app, admin, { username: `user${++n}`, password: PASSWORD, ...extra })
    const token = await login(app, user.username, PASSWORD)
    const { api_key, key_id } = await issueKey(app, admin, user.user_id)
    // Both work, and are now in the credential cache.
    expect((await as(app, token)({ url: '/me' })).statusCode).toBe(200)
    expect((await as(app, api_key)({ url: '/me' })).statusCode).toBe(200)
    return { ...user, token, api_key, key_id }
  }
  const refused = async (...credentials: string[]) => {
    for (const c of credentials) expect((await as(app, c)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
  }

  beforeAll(async () => {
    backend = await createBackend(backendName)
    // A long cache: every revocation below must still take effect at once on this instance.
    app = await buildAuthServer({ backend, options: { cacheTtl: '10m' } })
    admin = await login(app)
  })
  afterAll(async () => {
    await app?.close()
    await backend?.drop()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  describe('revocation', () => {
    it('deleting a user revokes their token and key', async () => {
      const s = await subject()
      await as(app, admin)({ method: 'DELETE', url: `/admin/users/${s.user_id}` })
      await refused(s.token, s.api_key)
    })

    it('disabling a user revokes their token and key, and they cannot log in; re-enabling does not revive them', async () => {
      const s = await subject()
      await as(app, admin)({ method: 'PATCH', url: `/admin/users/${s.user_id}`, payload: { disabled: true } })
      await refused(s.token, s.api_key)
      expect((await app.inject({ method: 'POST', url: '/login', payload: { username: s.username, password: PASSWORD } })).statusCode).toBe(401)
      await as(app, admin)({ method: 'PATCH', url: `/admin/users/${s.user_id}`, payload: { disabled: false } })
      await refused(s.token, s.api_key)
      expect(await login(app, s.username, PASSWORD)).toBeTruthy()
    })

    it('demoting an admin revokes their token and key', async () => {
      const s = await subject({ role: 'admin' })
      await as(app, admin)({ method: 'PATCH', url: `/admin/users/${s.user_id}`, payload: { role: 'user' } })
      await refused(s.token, s.api_key)
    })

    it('changing a password revokes every token and key; the new password works, the old does not', async () => {
      const s = await subject()
      await as(app, admin)({ method: 'PATCH', url: `/admin/users/${s.user_id}`, payload: { password: 'a brand new password' } })
      await refused(s.token, s.api_key)
      expect((await app.inject({ method: 'POST', url: '/login', payload: { username: s.username, password: PASSWORD } })).statusCode).toBe(401)
      expect(await login(app, s.username, 'a brand new password')).toBeTruthy()
    })

    it('logout revokes only that token; deleting a key revokes only that key', async () => {
      const s = await subject()
      const second = await login(app, s.username, PASSWORD)
      await as(app, s.token)({ method: 'POST', url: '/logout' })
      await refused(s.token)
      expect((await as(app, second)({ url: '/me' })).statusCode).toBe(200)
      const other = await issueKey(app, admin, s.user_id)
      await as(app, admin)({ method: 'DELETE', url: `/admin/apikeys/${s.key_id}` })
      await refused(s.api_key)
      expect((await as(app, other.api_key)({ url: '/me' })).statusCode).toBe(200)
    })
  })

  describe('expiry (fake clock)', () => {
    it('a login token stops working at its expiration date', async () => {
      const s = await subject()
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(Date.now() + 59 * 60_000)
      expect((await as(app, s.token)({ url: '/me' })).statusCode).toBe(200)
      vi.setSystemTime(Date.now() + 2 * 60_000)
      await refused(s.token)
      expect((await as(app, s.api_key)({ url: '/me' })).statusCode).toBe(200) // no expiry: still fine
    })

    it('an API key stops working at its expiration date', async () => {
      const user = await createUser(app, admin, { username: `user${++n}` })
      const expires = new Date(Date.now() + 10 * 60_000).toISOString()
      const { api_key } = await issueKey(app, admin, user.user_id, expires)
      expect((await as(app, api_key)({ url: '/me' })).statusCode).toBe(200)
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(Date.parse(expires) + 1000)
      await refused(api_key)
    })
  })

  describe('per-block access', () => {
    it('a user sees and calls only the blocks granted; others get 403 naming the block', async () => {
      const s = await subject({ blocks: ['echo'] })
      for (const credential of [s.token, s.api_key]) {
        const list = await as(app, credential)({ url: '/blocks' })
        expect(list.json().map((b: { name: string }) => b.name)).toEqual(['echo'])
        expect((await as(app, credential)({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'hi' } })).json()).toEqual({ text: 'hi' })
        const denied = await as(app, credential)({ method: 'POST', url: '/blocks/other/predict', payload: { text: 'hi' } })
        expect(denied.json()).toEqual({ statusCode: 403, code: 'MLB_BLOCK_NOT_GRANTED', error_message: "You may not call the block 'other'. Ask an admin to grant it to you." })
        expect((await as(app, credential)({ url: '/blocks/other' })).statusCode).toBe(403)
      }
    })

    it('["*"] and admins reach every block; a new grant applies at once', async () => {
      const all = await subject({ blocks: ['*'] })
      expect((await as(app, all.api_key)({ url: '/blocks' })).json()).toHaveLength(2)
      expect((await as(app, admin)({ url: '/blocks' })).json()).toHaveLength(2)
      const none = await subject({ blocks: [] })
      expect((await as(app, none.token)({ url: '/blocks' })).json()).toEqual([])
      await as(app, admin)({ method: 'PATCH', url: `/admin/users/${none.user_id}`, payload: { blocks: ['other'] } })
      expect((await as(app, none.token)({ method: 'POST', url: '/blocks/other/predict', payload: { text: 'ok' } })).statusCode).toBe(200)
    })

    it('block routes need a credential', async () => {
      expect((await app.inject({ url: '/blocks' })).json()).toEqual(UNAUTHORIZED)
      expect((await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'x' } })).json()).toEqual(UNAUTHORIZED)
    })
  })

  describe('the last admin', () => {
    it('cannot be deleted, disabled or demoted (409); with a second admin it can', async () => {
      const users = (await as(app, admin)({ url: '/admin/users' })).json() as Array<{ user_id: string; username: string; role: string; disabled: boolean }>
      const active = users.filter((u) => u.role === 'admin' && !u.disabled)
      // Leave exactly one active admin: root.
      for (const u of active) if (u.username !== 'root') await as(app, admin)({ method: 'DELETE', url: `/admin/users/${u.user_id}` })
      const root = users.find((u) => u.username === 'root')!
      const conflict = { statusCode: 409, code: 'MLB_LAST_ADMIN', error_message: 'This is the last active admin: create or promote another admin first.' }
      expect((await as(app, admin)({ method: 'DELETE', url: `/admin/users/${root.user_id}` })).json()).toEqual(conflict)
      expect((await as(app, admin)({ method: 'PATCH', url: `/admin/users/${root.user_id}`, payload: { disabled: true } })).json()).toEqual(conflict)
      expect((await as(app, admin)({ method: 'PATCH', url: `/admin/users/${root.user_id}`, payload: { role: 'user' } })).json()).toEqual(conflict)
      expect((await as(app, admin)({ url: `/admin/users/${root.user_id}` })).json()).toMatchObject({ role: 'admin', disabled: false })

      const second = await createUser(app, admin, { username: `admin${++n}`, role: 'admin' })
      const secondToken = await login(app, second.username, PASSWORD)
      expect((await as(app, secondToken)({ method: 'PATCH', url: `/admin/users/${root.user_id}`, payload: { role: 'user' } })).statusCode).toBe(200)
      expect((await as(app, secondToken)({ method: 'DELETE', url: `/admin/users/${second.user_id}` })).json()).toEqual(conflict)
    })
  })
})
