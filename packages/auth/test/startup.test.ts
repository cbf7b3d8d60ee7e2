import { createServer } from '@mlblocks/core'
import { afterEach, describe, expect, it } from 'vitest'
import { resolveSettings } from '../src/settings.js'
import { ADMIN, as, describeEachBackend, buildAuthServer, createBackend, createUser, echo, issueKey, login, logCollector, packageRoot, type Backend } from './helpers.js'

const OFF = ', or set AUTH_ENABLED=false to turn auth off.'
const good = { jwtSecret: 'a random-looking secret: 7Hq2pLm9Xv4Rt8', env: {} }

describe('settings: each misconfiguration stops start-up with one line naming the setting and the off switch', () => {
  it.each([
    [{ jwtSecret: undefined }, 'AUTH_JWT_SECRET is missing or shorter than 32 bytes: set it to a long random secret (e.g. `openssl rand -base64 48`)'],
    [{ jwtSecret: 'short' }, 'AUTH_JWT_SECRET is missing or shorter than 32 bytes'],
    [{ jwtSecret: 'a'.repeat(32) }, 'AUTH_JWT_SECRET is too easy to guess (it repeats a few characters or follows a pattern): set it to a long random secret'],
    [{ jwtSecret: 'ab'.repeat(32) }, 'AUTH_JWT_SECRET is too easy to guess'],
    [{ jwtSecret: '0123456789'.repeat(4) }, 'AUTH_JWT_SECRET is too easy to guess'],
    [{ databaseUrl: 'not a url' }, 'DATABASE_URL is not a valid URL: set it to postgres://user:password@host:5432/database, or unset it to use the embedded database'],
    [{ databaseUrl: 'mysql://root@db/x' }, 'DATABASE_URL must be a postgres:// URL, not mysql://'],
    [{ adminUsername: 'root' }, 'MLBLOCKS_ADMIN_USERNAME and MLBLOCKS_ADMIN_PASSWORD go together'],
    [{ adminUsername: 'root', adminPassword: 'short' }, 'MLBLOCKS_ADMIN_PASSWORD must be 12 to 1024 characters'],
    [{ adminUsername: 'bad name', adminPassword: 'long enough password' }, 'MLBLOCKS_ADMIN_USERNAME must be 1-64 letters'],
    [{ tokenTtl: 'forever' }, "AUTH_TOKEN_TTL must be a duration like 30s, 15m, 1h or 2d, from 60s to 2592000s; got 'forever'"],
    [{ cacheTtl: '-1' }, 'AUTH_CACHE_TTL must be a duration'],
    [{ loginRateLimit: 'lots' }, "AUTH_LOGIN_RATE_LIMIT must be a whole number of failed logins per minute (1-100000); got 'lots'"],
    [{ loginFreeAttempts: '0' }, "AUTH_LOGIN_FREE_ATTEMPTS must be a whole number of failed logins (1-100000); got '0'"],
    [{ requestRateLimit: '-5' }, 'AUTH_REQUEST_RATE_LIMIT must be a whole number of requests per minute'],
    [{ auditRetention: '5m' }, 'AUTH_AUDIT_RETENTION must be a duration'],
    [{ loginMaxBackoff: 'never' }, 'AUTH_LOGIN_MAX_BACKOFF must be a duration'],
  ])('%o', (options, message) => {
    const thrown = (() => {
      try {
        resolveSettings({ ...good, ...options })
      } catch (e) {
        return e as Error
      }
    })()
    expect(thrown?.message).toContain(message)
    expect(thrown?.message.endsWith(OFF)).toBe(true)
    expect(thrown?.message).not.toContain('\n')
  })

  it('reads the environment over the options, and never echoes a secret', () => {
    const fromEnv = 'the environment secret, 40+ bytes: Zk3vQ8wR'
    const s = resolveSettings({ jwtSecret: good.jwtSecret, tokenTtl: '2h', env: { AUTH_JWT_SECRET: fromEnv, AUTH_TOKEN_TTL: '15m' } })
    expect(s).toMatchObject({ jwtSecret: fromEnv, tokenTtlMs: 900_000, cacheTtlMs: 5000, loginRateLimit: 30, admin: null })
    expect(() => resolveSettings({ env: { AUTH_JWT_SECRET: 'tooshort-secret' } })).toThrow(/^(?!.*tooshort-secret)/)
    expect(() => resolveSettings({ env: { AUTH_JWT_SECRET: 'x'.repeat(40) } })).toThrow(/^(?!.*xxxx)/)
  })

  it('stops on an unreachable database within a few seconds, naming DATABASE_URL but not its password', async () => {
    const started = Date.now()
    const failure = await createServer(
      { blocks: [echo] },
      { root: packageRoot, env: {}, server: { logLevel: 'silent' }, plugins: { '@mlblocks/auth': { enabled: true, options: { ...good, databaseUrl: 'postgres://u:hunter2secret@127.0.0.1:1/db' } } } },
    ).catch((e: Error) => e)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect((failure as Error).message).toMatch(/^Cannot reach the auth database at 127\.0\.0\.1:1\/db \(.+\): check DATABASE_URL and that Postgres is running, or set AUTH_ENABLED=false to turn auth off\.$/)
    expect((failure as Error).message).not.toContain('hunter2secret')
  })

  it('starts cleanly with AUTH_ENABLED=false even when every auth setting is broken', async () => {
    const app = await createServer(
      { blocks: [echo], plugins: [{ module: '@mlblocks/auth', enabled: true, options: { jwtSecret: 'x', databaseUrl: 'nope' } }] },
      { root: packageRoot, env: { AUTH_ENABLED: 'false', DATABASE_URL: 'mysql://x' }, server: { logLevel: 'silent' } },
    )
    expect((await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'open' } })).json()).toEqual({ text: 'open' })
    await app.close()
  })
})

describeEachBackend('start-up and restarts (%s database)', (backendName) => {
  let backend: Backend | undefined
  afterEach(async () => {
    await backend?.drop()
    backend = undefined
  })

  it('bootstraps the first admin once, never overwrites it, and keeps users and keys across restarts', async () => {
    backend = await createBackend(backendName)
    const first = await buildAuthServer({ backend })
    const admin = await login(first)
    const user = await createUser(first, admin, { username: 'keeper', blocks: ['echo'] })
    const { api_key } = await issueKey(first, admin, user.user_id)
    await first.close()

    // A restart with another bootstrap password: the existing admin keeps theirs.
    const second = await buildAuthServer({ backend, options: { adminPassword: 'a different long password' } })
    expect(await login(second, ADMIN.username, ADMIN.password)).toBeTruthy()
    expect((await second.inject({ method: 'POST', url: '/login', payload: { username: ADMIN.username, password: 'a different long password' } })).statusCode).toBe(401)
    expect((await as(second, api_key)({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'still here' } })).json()).toEqual({ text: 'still here' })
    expect((await as(second, await login(second))({ url: '/admin/users' })).json().map((u: { username: string }) => u.username)).toEqual(['root', 'keeper'])
    await second.close()
  })

  it('refuses a bootstrap name held by a non-admin when no admin exists', async () => {
    backend = await createBackend(backendName)
    const first = await buildAuthServer({ backend })
    const admin = await login(first)
    await createUser(first, admin, { username: 'taken' })
    const rootId = (await as(first, admin)({ url: '/admin/users' })).json()[0].user_id
    await createUser(first, admin, { username: 'helper', role: 'admin' })
    const helper = await login(first, 'helper', 'a long enough password')
    await as(first, helper)({ method: 'DELETE', url: `/admin/users/${rootId}` })
    await first.close()
    // 'helper' is still an active admin, so bootstrapping 'taken' is simply skipped…
    const second = await buildAuthServer({ backend, options: { adminUsername: 'taken' } })
    await second.close()
    // …but with no active admin left, a name that belongs to a plain user stops start-up.
    await backend.query(`update mlblocks_auth.users set role = 'user' where username = 'helper'`)
    await expect(buildAuthServer({ backend, options: { adminUsername: 'taken' } })).rejects.toThrow(
      "MLBLOCKS_ADMIN_USERNAME 'taken' belongs to a user who is not an active admin, and no admin exists: choose another name, or promote that user with `mlblocks-auth create-admin taken --force`, or set AUTH_ENABLED=false to turn auth off.",
    )
  })

  it('warns at start-up when there is no admin at all, naming the settings and the CLI that fix it; not once one exists', async () => {
    backend = await createBackend(backendName)
    const noAdmin = { adminUsername: undefined, adminPassword: undefined }
    const log = logCollector()
    const lonely = await buildAuthServer({ backend, options: noAdmin, logStream: log.stream })
    await lonely.close()
    const warnings = log.text().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.level === 40)
    expect(warnings.map((w) => w.msg)).toEqual([
      expect.stringMatching(
        /^auth: there is no admin, so nobody can manage users: set MLBLOCKS_ADMIN_USERNAME and MLBLOCKS_ADMIN_PASSWORD to create one at start-up, or run `mlblocks-auth create-admin <username>` \(.+\) while the server is stopped$/,
      ),
    ])

    // With the bootstrap settings the admin is created, and later starts without them stay quiet.
    const first = await buildAuthServer({ backend, logStream: logCollector().stream })
    await first.close()
    const quiet = logCollector()
    const later = await buildAuthServer({ backend, options: noAdmin, logStream: quiet.stream })
    await later.close()
    expect(quiet.text()).not.toContain('there is no admin')
  })

  it('limits login attempts per client address: 429 MLB_RATE_LIMITED with Retry-After', async () => {
    backend = await createBackend(backendName)
    const app = await buildAuthServer({ backend, options: { loginRateLimit: 3 } })
    const attempt = () => app.inject({ method: 'POST', url: '/login', payload: { username: 'root', password: 'wrong password!!' } })
    for (let i = 0; i < 3; i++) expect((await attempt()).statusCode).toBe(401)
    const limited = await attempt()
    expect(limited.statusCode).toBe(429)
    // The address waits for the rest of its minute, counted from its first failure: on a loaded
    // machine the three failures above can take seconds, so the wait is at most 60, not exactly 60.
    const wait = Number(limited.headers['retry-after'])
    expect(wait).toBeGreaterThan(0)
    expect(wait).toBeLessThanOrEqual(60)
    expect(limited.json()).toEqual({ statusCode: 429, code: 'MLB_RATE_LIMITED', error_message: `Too many login attempts. Retry after ${wait} seconds.` })
    await app.close()
  })
})
