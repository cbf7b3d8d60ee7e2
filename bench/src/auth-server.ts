import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { startServer, type RunningServer } from './servers.js'

export const playgroundRoot = new URL('../../apps/playground/', import.meta.url).pathname
export const ADMIN = { username: 'bench-admin', password: 'bench admin password' }

export interface AuthedServer extends RunningServer {
  token: string
  apiKey: string
}

/** `BENCH_DATABASE_URL`: the auth suites use this Postgres database instead of the embedded one. */
export const authDatabase = process.env.BENCH_DATABASE_URL ? 'Postgres (BENCH_DATABASE_URL)' : 'embedded (PGlite, on a worker thread of the server)'

/**
 * Core with auth on, a login token and an API key for a user with every block. `dataDir`: the
 * embedded database's folder, from `withAuthDatabase`, which the next server reopens. `databaseUrl`:
 * a Postgres database instead (default `BENCH_DATABASE_URL`; null for the embedded one regardless).
 */
export async function startAuthServer(dataDir: string, databaseUrl: string | null | undefined = process.env.BENCH_DATABASE_URL): Promise<AuthedServer> {
  const server = await startServer({
    root: playgroundRoot,
    blocks: 'trivial',
    overrides: {
      '@mlblocks/auth': {
        enabled: true,
        options: {
          jwtSecret: 'benchmark-secret-that-is-long-enough',
          dataDir,
          ...(databaseUrl ? { databaseUrl } : {}),
          adminUsername: ADMIN.username,
          adminPassword: ADMIN.password,
          loginRateLimit: 100_000,
        },
      },
    },
  })
  const post = async (path: string, body: unknown, token?: string) => {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    })
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
    return res.json() as Promise<Record<string, string>>
  }
  const { token } = await post('/login', ADMIN)
  const user = await post('/admin/users', { username: `bench-user-${Date.now()}`, password: 'bench user password', role: 'user' }, token)
  const { api_key } = await post('/admin/apikeys', { user_id: user.user_id }, token)
  return { ...server, token: token!, apiKey: api_key! }
}

/** Runs `use` with a database folder that successive auth servers share (reopening a database takes a third of the time of creating one), then removes it. */
export async function withAuthDatabase<T>(use: (dataDir: string) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mlb-bench-auth-'))
  try {
    return await use(dataDir)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** Where the suites that compare both databases find a Postgres server when BENCH_DATABASE_URL is unset. */
export const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres'

/**
 * Runs `use` with a Postgres database for auth servers: BENCH_DATABASE_URL as it is, or else a fresh
 * database on the local server (LOCAL_POSTGRES), dropped afterwards; `use(null)` when neither answers.
 */
export async function withPostgres<T>(use: (url: string | null) => Promise<T>): Promise<T> {
  if (process.env.BENCH_DATABASE_URL) return use(process.env.BENCH_DATABASE_URL)
  // The driver auth itself uses, resolved from auth's package (the bench does not depend on it).
  const resolved = createRequire(new URL('../../packages/auth/package.json', import.meta.url)).resolve('postgres')
  type Sql = { unsafe(query: string): Promise<unknown>; end(options?: { timeout?: number }): Promise<void> }
  const { default: postgres } = (await import(pathToFileURL(resolved).href)) as { default: (url: string, options: object) => Sql }
  const admin = postgres(LOCAL_POSTGRES, { max: 1, connect_timeout: 3, onnotice: () => undefined })
  const name = `mlb_bench_${Date.now().toString(36)}`
  try {
    await admin.unsafe(`create database ${name}`)
  } catch {
    await admin.end({ timeout: 1 }).catch(() => undefined)
    return use(null)
  }
  try {
    const url = new URL(LOCAL_POSTGRES)
    url.pathname = `/${name}`
    return await use(url.href)
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => undefined)
    await admin.end({ timeout: 1 }).catch(() => undefined)
  }
}
