import postgres from 'postgres'
import { afterEach, describe, expect, it } from 'vitest'
import { as, buildAuthServer, createBackend, createUser, issueKey, login, UNAUTHORIZED, type Backend } from './helpers.js'
import { needs } from '../../../test-support/services.js'

const pgUrl = process.env.TEST_DATABASE_URL

/** Polls until `check` holds, for at most `ms`; returns how long it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
  return Date.now() - started
}

needs('postgres').describe('revocations across instances on one Postgres (LISTEN/NOTIFY)', () => {
  let backend: Backend | undefined
  afterEach(async () => {
    await backend?.drop()
    backend = undefined
  })

  it('a token and a key revoked on A are refused by B within a second, though B cached them for ten minutes', async () => {
    backend = await createBackend('postgres')
    const [a, b] = await Promise.all([buildAuthServer({ backend, options: { cacheTtl: '10m' } }), buildAuthServer({ backend, options: { cacheTtl: '10m' } })])
    const admin = await login(a)
    const user = await createUser(a, admin, { username: 'shared-user' })
    const token = await login(a, 'shared-user', 'a long enough password')
    const { api_key, key_id } = await issueKey(a, admin, user.user_id)
    // Both instances listen on real sockets; B is called over HTTP.
    const [urlA, urlB] = await Promise.all([a.listen({ host: '127.0.0.1', port: 0 }), b.listen({ host: '127.0.0.1', port: 0 })])
    const me = (url: string, credential: string) => fetch(`${url}/me`, { headers: { authorization: `Bearer ${credential}` } })
    for (const credential of [token, api_key]) expect((await me(urlB, credential)).status).toBe(200) // cached on B

    expect((await fetch(`${urlA}/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status).toBe(204)
    expect((await fetch(`${urlA}/admin/apikeys/${key_id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } })).status).toBe(204)
    const refused = async (credential: string) => (await me(urlB, credential)).status === 401
    expect(await within(1000, () => refused(token))).toBeLessThan(1000)
    expect(await within(1000, () => refused(api_key))).toBeLessThan(1000)
    expect((await as(b, token)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)

    // Grants changed on A apply on B at once too.
    const other = await createUser(a, admin, { username: 'granted', blocks: ['echo'] })
    const otherKey = await issueKey(a, admin, other.user_id)
    expect((await as(b, otherKey.api_key)({ method: 'POST', url: '/blocks/other/predict', payload: { text: 'x' } })).statusCode).toBe(403)
    await as(a, admin)({ method: 'PATCH', url: `/admin/users/${other.user_id}`, payload: { blocks: ['echo', 'other'] } })
    await within(1000, async () => (await as(b, otherKey.api_key)({ method: 'POST', url: '/blocks/other/predict', payload: { text: 'x' } })).statusCode === 200)
    await Promise.all([a.close(), b.close()])
  })

  it('when B loses the channel it checks every credential against the database, and listens again once it can', async () => {
    backend = await createBackend('postgres')
    const [a, b] = await Promise.all([buildAuthServer({ backend, options: { cacheTtl: '10m' } }), buildAuthServer({ backend, options: { cacheTtl: '10m' } })])
    const admin = await login(a)
    const user = await createUser(a, admin, { username: 'drop-user' })
    const first = await issueKey(a, admin, user.user_id)
    expect((await as(b, first.api_key)({ url: '/me' })).statusCode).toBe(200) // cached on B
    const server = postgres(pgUrl!, { max: 1, onnotice: () => undefined })
    const database = new URL(backend.options.databaseUrl!).pathname.slice(1)
    try {
      // Cut every listening connection of this database (A's and B's), then revoke on A at once:
      // its notification is lost, yet B must refuse the key.
      await server.unsafe(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${database}' and application_name = 'mlblocks_auth_listen'`)
      await new Promise((r) => setTimeout(r, 300)) // the drop reaches B's driver (a socket close: milliseconds)
      await as(a, admin)({ method: 'DELETE', url: `/admin/apikeys/${first.key_id}` })
      expect((await as(b, first.api_key)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      // The channel comes back by itself.
      await within(5000, async () => {
        const [row] = await server.unsafe(`select count(*)::int as n from pg_stat_activity where datname = '${database}' and application_name = 'mlblocks_auth_listen'`)
        return (row as unknown as { n: number }).n === 2
      })
    } finally {
      await server.end()
    }
    const second = await issueKey(a, admin, user.user_id)
    expect((await as(b, second.api_key)({ url: '/me' })).statusCode).toBe(200)
    await as(a, admin)({ method: 'DELETE', url: `/admin/apikeys/${second.key_id}` })
    await within(1000, async () => (await as(b, second.api_key)({ url: '/me' })).statusCode === 401)
    await Promise.all([a.close(), b.close()])
  })
})
