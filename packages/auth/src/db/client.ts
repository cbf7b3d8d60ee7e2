import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import * as schema from './schema.js'
import { AuthSettingError, describeDatabase, type AuthSettings } from '../settings.js'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

export interface AuthDatabase {
  db: Db
  kind: 'postgres' | 'embedded'
  /** Runs `fn` while holding a session-level advisory lock, so that only one instance runs it at a time. */
  withLock<T>(key: number, fn: () => Promise<T>): Promise<T>
  close(): Promise<void>
}

const CONNECT_TIMEOUT_S = 5

/**
 * `DATABASE_URL` set: Postgres through the `postgres` driver. Unset: PGlite, an embedded Postgres
 * stored under the data folder. Same schema, same migrations, same queries.
 */
export async function openDatabase(settings: AuthSettings['database']): Promise<AuthDatabase> {
  return settings.kind === 'postgres' ? openPostgres(settings) : openEmbedded(settings.dir)
}

async function openPostgres(settings: Extract<AuthSettings['database'], { kind: 'postgres' }>): Promise<AuthDatabase> {
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const client = postgres(settings.url, { connect_timeout: CONNECT_TIMEOUT_S, max: 10, onnotice: () => undefined })
  try {
    await client`select 1`
  } catch (err) {
    await client.end({ timeout: 1 }).catch(() => undefined)
    const reason = err instanceof Error ? err.message : String(err)
    throw new AuthSettingError(
      `Cannot reach the auth database at ${describeDatabase(settings)} (${reason}): check DATABASE_URL and that Postgres is running`,
    )
  }
  return {
    db: drizzle(client, { schema }) as unknown as Db,
    kind: 'postgres',
    async withLock(key, fn) {
      const session = await client.reserve()
      try {
        await session`select pg_advisory_lock(${key})`
        return await fn()
      } finally {
        await session`select pg_advisory_unlock(${key})`.catch(() => undefined)
        session.release()
      }
    },
    close: () => client.end({ timeout: 5 }),
  }
}

async function openEmbedded(dir: string): Promise<AuthDatabase> {
  const { PGlite } = await import('@electric-sql/pglite')
  const { drizzle } = await import('drizzle-orm/pglite')
  const path = join(dir, 'auth-db')
  try {
    await mkdir(path, { recursive: true })
  } catch (err) {
    throw new AuthSettingError(`MLBLOCKS_DATA_DIR ${dir} cannot be used (${(err as Error).message}): point it at a writable folder`)
  }
  const client = new PGlite(path)
  await client.waitReady
  const db = drizzle(client, { schema }) as unknown as Db
  return {
    db,
    kind: 'embedded',
    async withLock(key, fn) {
      // One connection: the lock is still taken, so the code path is the one Postgres runs.
      await db.execute(sql`select pg_advisory_lock(${key})`)
      try {
        return await fn()
      } finally {
        await db.execute(sql`select pg_advisory_unlock(${key})`)
      }
    },
    close: () => client.close(),
  }
}
