import { createHash, randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type AuthDatabase, type Db } from '../src/db/client.js'
import { migrateDatabase } from '../src/db/migrate.js'
import { ApiKeys, API_KEY_PATTERN, generateApiKey, hasValidChecksum } from '../src/services/api-keys.js'
import { Credentials } from '../src/services/credentials.js'
import { Tokens } from '../src/services/tokens.js'
import { Users } from '../src/services/users.js'
import { resolveDatabase } from '../src/settings.js'
import { as, describeEachBackend, buildAuthServer, createBackend, createUser, issueKey, login, migrateUpTo, UNAUTHORIZED, type Backend } from './helpers.js'

const PASSWORD = 'a long enough password'
const signer = { sign: (p: object) => JSON.stringify(p), verify: (t: string) => JSON.parse(t) as Record<string, unknown> }

/** The services on a real database, with every database call counted (a call is a query built, then run). */
async function services(backend: Backend) {
  const database: AuthDatabase = await openDatabase(resolveDatabase({ ...backend.options, env: {} }))
  await migrateDatabase(database)
  const counter = { calls: 0 }
  const counted = new Proxy(database.db, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown
      if (typeof value !== 'function' || !['select', 'insert', 'update', 'delete', 'execute', 'transaction'].includes(String(name))) return value
      return (...args: unknown[]) => {
        counter.calls += 1
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  }) as Db
  const tokens = new Tokens(counted, signer, 3_600_000)
  const apiKeys = new ApiKeys(counted)
  const users = new Users(counted, () => undefined)
  return { database, counter, tokens, apiKeys, users, credentials: new Credentials(tokens, apiKeys, 0) }
}

describeEachBackend('a credential change ends the login in flight (%s database)', (backendName) => {
  let backend: Backend
  let s: Awaited<ReturnType<typeof services>>
  beforeAll(async () => {
    backend = await createBackend(backendName)
    s = await services(backend)
  })
  afterAll(async () => {
    await s?.database.close()
    await backend?.drop()
  })

  // Each login is held between its password check (done) and its token's insert: the change lands there.
  const changes: Array<[string, (userId: string) => Promise<unknown>]> = [
    ['a new password', (id) => s.users.update(id, { password: 'another long password' })],
    ['disabling', (id) => s.users.update(id, { disabled: true })],
    ['disabling then re-enabling', async (id) => (await s.users.update(id, { disabled: true }), s.users.update(id, { disabled: false }))],
    ['a new role', (id) => s.users.update(id, { role: 'admin' })],
    ['new grants', (id) => s.users.update(id, { blocks: ['echo'] })],
    ['deletion', (id) => s.users.remove(id)],
  ]
  it.each(changes)('%s: the token is never written (the login answers 401), and no foreign-key error', async (what, change) => {
    const created = await s.users.create({ username: `inflight-${what.replace(/\W/g, '')}`, password: PASSWORD, role: 'user' })
    const { user } = await s.users.login(created.username, PASSWORD)
    expect(user).not.toBeNull()
    await change(created.userId)
    expect(await s.tokens.issue(user!)).toBeNull()
    const written = await s.database.db.execute(sql`select count(*)::int as n from mlblocks_auth.tokens where user_id = ${created.userId}::uuid`)
    expect((written as unknown as Array<{ n: number }>)[0]!.n).toBe(0)
    // Without a change in between, the same login gets its token.
    if (what !== 'deletion' && what !== 'disabling') {
      const fresh = await s.users.login(created.username, what === 'a new password' ? 'another long password' : PASSWORD)
      expect(await s.tokens.issue(fresh.user!)).not.toBeNull()
    }
  })

  it('an API key for a user deleted meanwhile is a 404 MLB_USER_NOT_FOUND, never a foreign-key error', async () => {
    const created = await s.users.create({ username: 'keyless', password: PASSWORD, role: 'user' })
    await s.users.remove(created.userId)
    await expect(s.apiKeys.issue(created.userId, { expirationDate: null })).rejects.toMatchObject({ code: 'MLB_USER_NOT_FOUND', statusCode: 404 })
  })

  it('usernames are unique without regard to case, and either case logs in', async () => {
    await s.users.create({ username: 'Grace', password: PASSWORD, role: 'user' })
    await expect(s.users.create({ username: 'grace', password: PASSWORD, role: 'user' })).rejects.toMatchObject({ code: 'MLB_USERNAME_TAKEN', statusCode: 409 })
    expect((await s.users.login('GRACE', PASSWORD)).user?.username).toBe('Grace')
  })

  it('refuses random and forged keys without a single database call; a genuine key still takes one lookup', async () => {
    const owner = await s.users.create({ username: 'flooded', password: PASSWORD, role: 'user' })
    const { key } = await s.apiKeys.issue(owner.userId, { expirationDate: null })
    expect(key).toMatch(API_KEY_PATTERN)
    expect(hasValidChecksum(key)).toBe(true)
    await s.apiKeys.loadLegacyPrefixes()
    const base62 = (n: number) => Array.from(randomBytes(n), (b) => '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'[b % 62]).join('')
    const flip = (k: string, i: number) => k.slice(0, i) + (k[i] === 'A' ? 'B' : 'A') + k.slice(i + 1)
    const flood = [
      ...Array.from({ length: 300 }, () => `mlb_${base62(36)}`), // random, today's length
      ...Array.from({ length: 300 }, () => `mlb_${base62(43)}`), // random, the old length
      ...Array.from({ length: 30 }, (_, i) => flip(key, 4 + i)), // a real key with one character changed
      `${key.slice(0, -6)}${key.slice(-6).split('').reverse().join('')}`,
    ]
    const before = s.counter.calls
    for (const forged of flood) expect(await s.credentials.check(forged)).toBeNull()
    expect(s.counter.calls - before).toBe(0)
    expect(await s.credentials.check(key)).toMatchObject({ userId: owner.userId, via: 'api_key' })
    expect(s.counter.calls - before).toBeGreaterThan(0)
    expect(new Set(Array.from({ length: 1000 }, generateApiKey)).size).toBe(1000)
  })
})

describeEachBackend('upgrading a database of today’s schema (%s database)', (backendName) => {
  it('keeps old keys (43 characters, no checksum) working; a random key of the old shape is refused', async () => {
    const backend = await createBackend(backendName)
    try {
      await migrateUpTo(['0000_init', '0001_audit_events'], backend)
      // A user and an old-format key, written as today's code writes them.
      const oldKey = `mlb_${createHash('sha256').update(randomBytes(8)).digest('base64url').replace(/[-_]/g, 'x').slice(0, 43)}`
      const hash = createHash('sha256').update(oldKey).digest('hex')
      const hashed = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000'
      await backend.query(`insert into mlblocks_auth.users (user_id, username, hashed_password, role) values ('11111111-1111-4111-8111-111111111111', 'veteran', '${hashed}', 'user')`)
      await backend.query(`insert into mlblocks_auth.api_keys (user_id, key_hash, prefix) values ('11111111-1111-4111-8111-111111111111', '${hash}', '${oldKey.slice(0, 12)}')`)
      const app = await buildAuthServer({ backend })
      expect((await as(app, oldKey)({ url: '/me' })).json()).toMatchObject({ username: 'veteran' })
      expect((await app.inject({ url: '/me', headers: { 'x-api-key': oldKey } })).statusCode).toBe(200)
      expect((await as(app, `${oldKey.slice(0, 12)}${'A'.repeat(31)}`)({ url: '/me' })).json()).toEqual(UNAUTHORIZED) // right prefix, wrong key
      expect((await as(app, `mlb_${'B'.repeat(43)}`)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      // Revoking the old key takes its prefix out of memory too: it is refused at once.
      const admin = await login(app)
      const { key_id } = ((await as(app, admin)({ url: '/admin/apikeys' })).json() as Array<{ key_id: string }>)[0]!
      await as(app, admin)({ method: 'DELETE', url: `/admin/apikeys/${key_id}` })
      expect((await as(app, oldKey)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      // New keys carry the checksum.
      const fresh = await issueKey(app, admin, '11111111-1111-4111-8111-111111111111')
      expect(fresh.api_key).toMatch(/^mlb_[0-9A-Za-z]{36}$/)
      await app.close()
    } finally {
      await backend.drop()
    }
  }, 120_000)

  it('stops on usernames that differ only in case, naming the users to rename', async () => {
    const backend = await createBackend(backendName)
    try {
      await migrateUpTo(['0000_init', '0001_audit_events'], backend)
      for (const name of ['Admin', 'admin', 'ADMIN', 'solo']) {
        await backend.query(`insert into mlblocks_auth.users (username, hashed_password, role) values ('${name}', 'x', 'user')`)
      }
      const failure = (await buildAuthServer({ backend }).catch((e: Error) => e)) as Error
      expect(failure.message).toMatch(/^Cannot upgrade the auth database at .+: usernames must now be unique without regard to case, and these differ only in case: ADMIN \(user_id [0-9a-f-]{36}\), Admin \(user_id [0-9a-f-]{36}\), admin \(user_id [0-9a-f-]{36}\)\. Rename all but one of each group .+, or set AUTH_ENABLED=false to turn auth off\.$/)
      expect(failure.message).not.toContain('solo')
      // Renamed, the upgrade goes through.
      await backend.query(`update mlblocks_auth.users set username = 'admin2' where username = 'ADMIN'`)
      await backend.query(`update mlblocks_auth.users set username = 'admin3' where username = 'Admin'`)
      const app = await buildAuthServer({ backend })
      const created = await as(app, await login(app))({ method: 'POST', url: '/admin/users', payload: { username: 'SOLO', password: PASSWORD, role: 'user' } })
      expect(created.json()).toMatchObject({ statusCode: 409, code: 'MLB_USERNAME_TAKEN' })
      await app.close()
    } finally {
      await backend.drop()
    }
  }, 120_000)
})

describeEachBackend('one request budget per credential, one back-off per username whatever its case (%s database)', (backendName) => {
  it('spends one budget across predict, GET /blocks/:name and GET /blocks; backs off every spelling of one username as one', async () => {
    const backend = await createBackend(backendName)
    const app = await buildAuthServer({ backend, options: { requestRateLimit: 3, loginFreeAttempts: 2 } })
    try {
      // Usernames match without regard to case, so their back-off does too: six spellings of one name are one name.
      const spellings = ['casey', 'Casey', 'CASEY', 'cAsEy', 'CaSeY', 'caSEY']
      const statuses: number[] = []
      for (const username of spellings) statuses.push((await app.inject({ method: 'POST', url: '/login', payload: { username, password: 'not the password' } })).statusCode)
      expect(statuses).toContain(429)

      const admin = await login(app)
      const user = await createUser(app, admin, { username: 'budget' })
      const { api_key } = await issueKey(app, admin, user.user_id)
      const call = as(app, api_key)
      expect((await call({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'x' } })).statusCode).toBe(200)
      expect((await call({ url: '/blocks/echo' })).statusCode).toBe(200)
      expect((await call({ url: '/blocks' })).statusCode).toBe(200)
      for (const request of [{ url: '/blocks' }, { url: '/blocks/other' }, { method: 'POST' as const, url: '/blocks/other/predict', payload: { text: 'x' } }]) {
        const res = await call(request)
        expect(res.statusCode, request.url).toBe(429)
        expect(res.json()).toMatchObject({ code: 'MLB_RATE_LIMITED' })
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
      }
    } finally {
      await app.close()
      await backend.drop()
    }
  }, 120_000)
})
