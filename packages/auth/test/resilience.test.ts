import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from '@mlblocks/core'
import postgres from 'postgres'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiKeys } from '../src/services/api-keys.js'
import { Credentials } from '../src/services/credentials.js'
import type { Principal } from '../src/services/principal.js'
import type { Tokens } from '../src/services/tokens.js'
import { ADMIN, as, buildAuthServer, createBackend, createUser, echo, issueKey, login, packageRoot, SECRET, UNAUTHORIZED, type Backend } from './helpers.js'
import { needs } from '../../../test-support/services.js'
import { rightsOf } from '../src/services/access.js'

const OFF = ', or set AUTH_ENABLED=false to turn auth off.'
const UNAVAILABLE = { statusCode: 503, code: 'MLB_UNAVAILABLE', error_message: 'The auth database is unreachable. Retry in a few seconds.' }
const pgUrl = process.env.TEST_DATABASE_URL

let backend: Backend | undefined
afterEach(async () => {
  await backend?.drop()
  backend = undefined
})

describe('the embedded database is held by one process at a time', () => {
  it('refuses a second server on the same folder with one line, and opens again once the first has closed', async () => {
    backend = await createBackend('embedded')
    const first = await buildAuthServer({ backend })
    const refused = await buildAuthServer({ backend }).catch((e: Error) => e)
    expect((refused as Error).message).toMatch(
      new RegExp(`^The embedded auth database in .+ is in use by process ${process.pid} \\(this one\\): stop it first \\(or delete .+auth-db\\.lock if no process uses it\\), or set DATABASE_URL to share a Postgres database between processes${OFF.replace(/[.()]/g, '\\$&')}$`),
    )
    expect(await login(first)).toBeTruthy() // the first server is unharmed
    await first.close()
    expect(existsSync(join(backend.options.dataDir!, 'auth-db.lock'))).toBe(false)
    const second = await buildAuthServer({ backend })
    expect(await login(second)).toBeTruthy()
    await second.close()
  })

  it('refuses the recovery CLI while a server holds the folder', async () => {
    backend = await createBackend('embedded')
    const app = await buildAuthServer({ backend })
    const cli = spawn(process.execPath, [new URL('../dist/cli.js', import.meta.url).pathname, 'list-users'], {
      env: { PATH: process.env.PATH ?? '', MLBLOCKS_DATA_DIR: backend.options.dataDir! },
    })
    let stderr = ''
    cli.stderr.on('data', (d: Buffer) => (stderr += d))
    const [code] = (await once(cli, 'exit')) as [number]
    await app.close()
    expect(code).toBe(1)
    expect(stderr).toMatch(new RegExp(`^mlblocks-auth: The embedded auth database in .+ is in use by process ${process.pid}: stop it first .+ between processes\\.\\n$`))
  })

  it('takes over a lock left by a process that is gone', async () => {
    backend = await createBackend('embedded')
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
    writeFileSync(join(backend.options.dataDir!, 'auth-db.lock'), `${gone}\n`)
    const app = await buildAuthServer({ backend })
    expect(await login(app)).toBeTruthy()
    await app.close()
  })
})

describe('start-up against a database host that never answers', () => {
  it('stops within the connection deadline with one line naming DATABASE_URL', async () => {
    const started = Date.now()
    const failure = await createServer(
      { blocks: [echo] },
      // 10.255.255.1: a private address that drops packets here (or is refused at once elsewhere).
      { root: packageRoot, env: {}, server: { logLevel: 'silent' }, plugins: { '@mlblocks/auth': { enabled: true, options: { jwtSecret: SECRET, databaseUrl: 'postgres://u@10.255.255.1:5432/db' } } } },
    ).catch((e: Error) => e)
    expect(Date.now() - started).toBeLessThan(9000)
    expect((failure as Error).message).toMatch(/^Cannot reach the auth database at 10\.255\.255\.1:5432\/db \(.+\): check DATABASE_URL and that Postgres is running, or set AUTH_ENABLED=false to turn auth off\.$/)
  })
})

describe('the credential cache', () => {
  it('does not keep an answer that was in flight while the credential was revoked', async () => {
    const database = gatedTokens()
    const credentials = new Credentials(database.tokens, new ApiKeys(undefined as never), 60_000)
    const inFlight = credentials.check('a.b.c')
    await new Promise((r) => setImmediate(r))
    credentials.forgetCredential('t1') // e.g. POST /logout lands while the first check waits on the database
    database.answer(PRINCIPAL)
    expect(await inFlight).toEqual(PRINCIPAL)
    const again = credentials.check('a.b.c')
    await new Promise((r) => setImmediate(r))
    expect(database.calls).toBe(2) // asked the database again: the stale answer was not cached
    database.answer(PRINCIPAL)
    await again
    await credentials.check('a.b.c')
    expect(database.calls).toBe(2) // and this fresh answer is
  })

  it('asks the database once for checks of one credential that miss together', async () => {
    const database = gatedTokens()
    const credentials = new Credentials(database.tokens, new ApiKeys(undefined as never), 60_000)
    const checks = Array.from({ length: 10 }, () => credentials.check('a.b.c'))
    await new Promise((r) => setImmediate(r))
    expect(database.calls).toBe(1)
    database.answer(PRINCIPAL)
    expect(await Promise.all(checks)).toEqual(Array.from({ length: 10 }, () => PRINCIPAL))
    expect(credentials.check('a.b.c')).toEqual(PRINCIPAL) // cached, no promise
    expect(database.calls).toBe(1)
  })

  it('does not hand a check made after a revocation the answer of a lookup that started before it', async () => {
    const database = gatedTokens()
    const credentials = new Credentials(database.tokens, new ApiKeys(undefined as never), 60_000)
    const before = credentials.check('a.b.c')
    await new Promise((r) => setImmediate(r))
    credentials.forgetCredential('t1') // POST /logout lands while the first check waits on the database
    const after = credentials.check('a.b.c')
    await new Promise((r) => setImmediate(r))
    expect(database.calls).toBe(2) // the second check asked on its own
    database.answer(PRINCIPAL) // the first lookup read the row before the revocation
    database.answer(null)
    expect(await before).toEqual(PRINCIPAL)
    expect(await after).toBeNull()
  })

  it('shares an outage with every check waiting on it, and asks again on the next', async () => {
    const database = gatedTokens()
    const credentials = new Credentials(database.tokens, new ApiKeys(undefined as never), 60_000)
    const checks = [credentials.check('a.b.c'), credentials.check('a.b.c')]
    await new Promise((r) => setImmediate(r))
    database.fail(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))
    for (const check of checks) await expect(check).rejects.toMatchObject({ code: 'MLB_UNAVAILABLE' })
    const next = credentials.check('a.b.c')
    await new Promise((r) => setImmediate(r))
    expect(database.calls).toBe(2)
    database.answer(PRINCIPAL)
    expect(await next).toEqual(PRINCIPAL)
  })

  it('asks on every check, together or not, when the cache is off', async () => {
    const database = gatedTokens()
    const credentials = new Credentials(database.tokens, new ApiKeys(undefined as never), 0)
    const checks = [credentials.check('a.b.c'), credentials.check('a.b.c')]
    await new Promise((r) => setImmediate(r))
    expect(database.calls).toBe(2)
    database.answer(PRINCIPAL)
    database.answer(PRINCIPAL)
    await Promise.all(checks)
  })
})

const PRINCIPAL: Principal = { userId: 'u', username: 'ada', role: 'user', blocks: ['*'], rights: rightsOf({ role: 'user', blocks: ['*'] }, []), via: 'token', credentialId: 't1' }

/** Login tokens whose every verify waits until the test answers it (in order), counting the calls. */
function gatedTokens() {
  const waiting: Array<(answer: { principal: Principal; expiresAt: Date } | null | Error) => void> = []
  const state = {
    calls: 0,
    tokens: {
      async verify() {
        state.calls += 1
        const answer = await new Promise<{ principal: Principal; expiresAt: Date } | null | Error>((resolve) => waiting.push(resolve))
        if (answer instanceof Error) throw answer
        return answer
      },
    } as unknown as Tokens,
    answer(principal: Principal | null) {
      waiting.shift()!(principal && { principal, expiresAt: new Date(Date.now() + 3_600_000) })
    },
    fail(err: Error) {
      waiting.shift()!(err)
    },
  }
  return state
}

needs('postgres').describe('several instances on one Postgres database (postgres)', () => {
  it('start together on an empty database: migrations run once, one first admin, every instance serves', async () => {
    backend = await createBackend('postgres')
    const apps = await Promise.all([1, 2, 3, 4].map(() => buildAuthServer({ backend: backend! })))
    expect(await backend.query('select username, role from mlblocks_auth.users')).toEqual([{ username: ADMIN.username, role: 'admin' }])
    const journal = JSON.parse(readFileSync(new URL('../drizzle/meta/_journal.json', import.meta.url), 'utf8')) as { entries: unknown[] }
    expect(await backend.query('select count(*)::int as n from mlblocks_auth.__drizzle_migrations')).toEqual([{ n: journal.entries.length }])
    // A key issued on one instance works on the others; a revocation on one stops it there at once.
    const token = await login(apps[0]!)
    const { user_id } = await createUser(apps[0]!, token, { username: 'shared', blocks: ['echo'] })
    const { api_key, key_id } = await issueKey(apps[1]!, token, user_id)
    for (const app of apps) expect((await as(app, api_key)({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'hi' } })).statusCode).toBe(200)
    await as(apps[2]!, token)({ method: 'DELETE', url: `/admin/apikeys/${key_id}` })
    expect((await as(apps[2]!, api_key)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
    await Promise.all(apps.map((app) => app.close()))
  })

  it('answers 503 MLB_UNAVAILABLE with Retry-After while the database is down, and recovers', async () => {
    backend = await createBackend('postgres')
    const app = await buildAuthServer({ backend, options: { cacheTtl: '0' } })
    const token = await login(app)
    const database = new URL(backend.options.databaseUrl!).pathname.slice(1)
    const server = postgres(pgUrl!, { max: 1, onnotice: () => undefined })
    try {
      await server.unsafe(`alter database ${database} allow_connections false`)
      await server.unsafe(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${database}'`)
      const block = await as(app, token)({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'hi' } })
      expect(block.statusCode).toBe(503)
      expect(block.headers['retry-after']).toBe('5')
      expect(block.json()).toEqual(UNAVAILABLE)
      const loginDown = await app.inject({ method: 'POST', url: '/login', payload: ADMIN })
      expect(loginDown.json()).toEqual(UNAVAILABLE)
      expect(loginDown.headers['retry-after']).toBe('5')
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200) // open routes never touch it
      const readyz = await app.inject({ url: '/readyz' })
      expect(readyz.statusCode).toBe(503)
      expect(readyz.json()).toMatchObject({ code: 'MLB_NOT_READY', error_message: expect.stringContaining('the auth database is unavailable') })
    } finally {
      await server.unsafe(`alter database ${database} allow_connections true`)
      await server.end()
    }
    expect((await as(app, token)({ url: '/me' })).statusCode).toBe(200)
    expect(await login(app)).toBeTruthy()
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200)
    await app.close()
  })

  it('stops start-up with one line when the migrations cannot be applied', async () => {
    backend = await createBackend('postgres')
    const role = `mlb_reader_${Math.random().toString(36).slice(2, 8)}`
    const server = postgres(pgUrl!, { max: 1, onnotice: () => undefined })
    const database = new URL(backend.options.databaseUrl!).pathname.slice(1)
    await server.unsafe(`create role ${role} login`)
    await server.unsafe(`revoke create on database ${database} from public`)
    try {
      const url = new URL(backend.options.databaseUrl!)
      url.username = role
      const failure = await buildAuthServer({ backend, options: { databaseUrl: url.href } }).catch((e: Error) => e)
      const message = (failure as Error).message
      expect(message).toMatch(new RegExp(`^Cannot apply the auth database migrations to [^ ]+/${database} \\(permission denied [^)]+\\): `))
      expect(message.endsWith(`: check that the DATABASE_URL user may create the mlblocks_auth schema and its tables${OFF}`)).toBe(true)
    } finally {
      await backend.drop()
      backend = undefined
      await server.unsafe(`drop role if exists ${role}`)
      await server.end()
    }
  })
})
