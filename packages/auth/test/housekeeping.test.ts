import { afterEach, describe, expect, it, vi } from 'vitest'
import { as, buildAuthServer, createBackend, createUser, issueKey, login, type Backend } from './helpers.js'

let backend: Backend | undefined
afterEach(async () => {
  vi.useRealTimers()
  await backend?.drop()
  backend = undefined
})

describe('housekeeping (embedded database)', () => {
  it('deletes the rows of expired login tokens, at most once an hour, on a login', async () => {
    backend = await createBackend('embedded')
    const app = await buildAuthServer({ backend })
    vi.useFakeTimers({ toFake: ['Date'] })
    const old = await login(app)
    await login(app)
    vi.setSystemTime(Date.now() + 2 * 3_600_000) // both have expired
    const fresh = await login(app)
    expect((await as(app, old)({ url: '/me' })).statusCode).toBe(401)
    expect((await as(app, fresh)({ url: '/me' })).statusCode).toBe(200)
    await app.close()
    expect(await backend.query('select count(*)::int as n from mlblocks_auth.tokens')).toEqual([{ n: 1 }])
  })

  it('writes an API key’s last_used_at at most once a minute, even with the cache off', async () => {
    backend = await createBackend('embedded')
    const app = await buildAuthServer({ backend, options: { cacheTtl: '0' } })
    const admin = await login(app)
    const { user_id } = await createUser(app, admin, { username: 'busy' })
    const { api_key } = await issueKey(app, admin, user_id)
    const lastUsed = async () => (await as(app, admin)({ url: `/admin/apikeys?user_id=${user_id}` })).json()[0].last_used_at as string
    vi.useFakeTimers({ toFake: ['Date'] })
    expect((await as(app, api_key)({ url: '/me' })).statusCode).toBe(200)
    const first = await lastUsed()
    vi.setSystemTime(Date.now() + 30_000)
    expect((await as(app, api_key)({ url: '/me' })).statusCode).toBe(200)
    expect(await lastUsed()).toBe(first)
    vi.setSystemTime(Date.now() + 60_000)
    expect((await as(app, api_key)({ url: '/me' })).statusCode).toBe(200)
    expect(Date.parse(await lastUsed()) - Date.parse(first)).toBeGreaterThanOrEqual(90_000)
    await app.close()
  })
})
