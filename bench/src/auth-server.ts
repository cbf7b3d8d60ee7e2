import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
 * embedded database's folder, from `withAuthDatabase`, which the next server reopens.
 */
export async function startAuthServer(dataDir: string): Promise<AuthedServer> {
  const databaseUrl = process.env.BENCH_DATABASE_URL
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
