import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { createServer, defineBlock, Type, type AnyBlock } from '@mlblocks/core'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import postgres from 'postgres'
import { describe } from 'vitest'
import type { AuthOptions } from '../src/settings.js'
import { needs } from '../../../test-support/services.js'

export const packageRoot = new URL('..', import.meta.url).pathname
export const SECRET = 's3cret-that-is-at-least-32-bytes-long!!'
export const ADMIN = { username: 'root', password: 'correct horse battery staple' }

const block = (name: string) =>
  defineBlock({
    name,
    description: `Echoes, as ${name}.`,
    input: Type.Object({ text: Type.String() }, { additionalProperties: false }),
    output: Type.Object({ text: Type.String() }),
    predict: async ({ text }) => ({ text }),
  })
export const echo = block('echo')
export const other = block('other')

/** Where a test's data lives: a fresh embedded folder, or a fresh database on TEST_DATABASE_URL. */
export interface Backend {
  name: string
  /** Options that point auth at this backend. */
  options: Pick<AuthOptions, 'databaseUrl' | 'dataDir'>
  drop(): Promise<void>
  /** Runs SQL against the backend directly (for checks of what is stored). */
  query<T = Record<string, unknown>>(text: string): Promise<T[]>
}

/**
 * `describe.each` over the backends: `%s` in the title becomes the backend's name. The embedded one
 * always runs; the Postgres one needs TEST_DATABASE_URL, and without it is skipped with one line
 * (a failure under CI=true), never left out in silence.
 */
export function describeEachBackend(title: string, body: (backendName: 'embedded' | 'postgres') => void): void {
  describe(title.replace('%s', 'embedded'), () => body('embedded'))
  needs('postgres').describe(title.replace('%s', 'postgres'), () => body('postgres'))
}

export async function createBackend(name: string): Promise<Backend> {
  if (name === 'embedded') {
    const dir = mkdtempSync(join(tmpdir(), 'mlb-auth-'))
    return {
      name,
      options: { dataDir: dir },
      async query<T>(text: string) {
        // Only while no server holds the folder, one query at a time: PGlite is single-process.
        const { PGlite } = await import('@electric-sql/pglite')
        const pg = new PGlite(join(dir, 'auth-db'))
        try {
          return (await pg.query<T>(text)).rows
        } finally {
          await pg.close()
        }
      },
      async drop() {
        rmSync(dir, { recursive: true, force: true })
      },
    }
  }
  const base = process.env.TEST_DATABASE_URL!
  const database = `mlb_auth_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const admin = postgres(base, { max: 1, onnotice: () => undefined })
  await admin.unsafe(`create database ${database}`)
  const url = new URL(base)
  url.pathname = `/${database}`
  const client = postgres(url.href, { max: 1, onnotice: () => undefined })
  return {
    name,
    options: { databaseUrl: url.href },
    query: async <T>(text: string) => (await client.unsafe(text)) as unknown as T[],
    async drop() {
      await client.end()
      await admin.unsafe(`drop database if exists ${database} with (force)`)
      await admin.end()
    },
  }
}

export interface AuthServerOptions {
  backend: Backend
  blocks?: AnyBlock[]
  options?: AuthOptions
  env?: Record<string, string>
  logStream?: NodeJS.WritableStream
}

/** Core with auth on, built the way a user's config would (auth imported by core's plugin registry). */
export function buildAuthServer({ backend, blocks = [echo, other], options = {}, env = {}, logStream }: AuthServerOptions): Promise<FastifyInstance> {
  return createServer(
    { blocks },
    {
      root: packageRoot,
      env,
      server: { logLevel: logStream ? 'info' : 'silent' },
      ...(logStream ? { logStream } : {}),
      plugins: {
        '@mlblocks/auth': {
          enabled: true,
          // Tests log in far more than 10 times a minute; the rate-limit test sets its own budget.
          options: { jwtSecret: SECRET, adminUsername: ADMIN.username, adminPassword: ADMIN.password, loginRateLimit: 1000, ...backend.options, ...options },
        },
      },
    },
  )
}

export async function login(app: FastifyInstance, username = ADMIN.username, password = ADMIN.password): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/login', payload: { username, password } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.body}`)
  return res.json().token
}

export const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` })

/** inject() with a credential. */
export function as(app: FastifyInstance, credential: string) {
  return (options: InjectOptions): Promise<LightMyRequestResponse> =>
    app.inject({ ...options, headers: { ...bearer(credential), ...options.headers } })
}

export async function createUser(app: FastifyInstance, adminToken: string, body: Record<string, unknown>) {
  const res = await as(app, adminToken)({ method: 'POST', url: '/admin/users', payload: { role: 'user', password: 'a long enough password', ...body } })
  if (res.statusCode !== 201) throw new Error(`create user failed: ${res.body}`)
  return res.json() as { user_id: string; username: string }
}

export async function issueKey(app: FastifyInstance, adminToken: string, userId: string, expiration_date?: string) {
  const res = await as(app, adminToken)({ method: 'POST', url: '/admin/apikeys', payload: { user_id: userId, ...(expiration_date ? { expiration_date } : {}) } })
  if (res.statusCode !== 201) throw new Error(`issue key failed: ${res.body}`)
  return res.json() as { api_key: string; key_id: string }
}

export const UNAUTHORIZED = {
  statusCode: 401,
  code: 'MLB_UNAUTHORIZED',
  error_message:
    'A valid credential is required: send Authorization: Bearer <token or API key>, or X-API-Key: <API key>. Log in again if your token has expired or was revoked.',
}

export function logCollector() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      lines.push(chunk.toString())
      done()
    },
  })
  return { stream, text: () => lines.join('') }
}

/** The nice value of each thread of this process (Linux: field 19 of /proc/self/task/<tid>/stat); the main thread's first. */
export const threadNiceValues = (): number[] => threadStatField(19)

/** SCHED_IDLE's number in sched(7). */
export const SCHED_IDLE = 5

/** The scheduling policy of each thread of this process (Linux: field 41 of /proc/self/task/<tid>/stat); the main thread's first. */
export const threadPolicies = (): number[] => threadStatField(41)

/** Field `n` (numbered as in proc(5)) of each thread's stat, the main thread's first; counted after the `(comm)` field, which may hold spaces. */
function threadStatField(n: number): number[] {
  const tids = [String(process.pid), ...readdirSync('/proc/self/task').filter((tid) => tid !== String(process.pid))]
  return tids.map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[n - 3]))
}

/**
 * Brings a fresh backend to an older schema: only the shipped migrations named in `tags` (the
 * upgrade tests then start today's server on it, which applies the rest).
 */
export async function migrateUpTo(tags: readonly string[], backend: Backend): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'mlb-migrations-'))
  cpSync(join(packageRoot, 'drizzle'), folder, { recursive: true })
  const journal = JSON.parse(readFileSync(join(folder, 'meta/_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> }
  journal.entries = journal.entries.filter((e) => tags.includes(e.tag))
  writeFileSync(join(folder, 'meta/_journal.json'), JSON.stringify(journal))
  const config = { migrationsFolder: folder, migrationsSchema: 'mlblocks_auth', migrationsTable: '__drizzle_migrations' }
  try {
    if (backend.name === 'embedded') {
      const { PGlite } = await import('@electric-sql/pglite')
      const { drizzle } = await import('drizzle-orm/pglite')
      const { migrate } = await import('drizzle-orm/pglite/migrator')
      const pg = new PGlite(join(backend.options.dataDir!, 'auth-db'))
      await migrate(drizzle(pg), config)
      await pg.close()
    } else {
      const { drizzle } = await import('drizzle-orm/postgres-js')
      const { migrate } = await import('drizzle-orm/postgres-js/migrator')
      const client = postgres(backend.options.databaseUrl!, { max: 1, onnotice: () => undefined })
      await migrate(drizzle(client), config)
      await client.end()
    }
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}
