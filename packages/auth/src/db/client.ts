import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import * as schema from './schema.js'
import { AuthSettingError, describeDatabase, type AuthSettings } from '../settings.js'
import { withDeadline } from './errors.js'
import { EmbeddedPostgres } from './embedded.js'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

export interface AuthDatabase {
  db: Db
  /** `host:port/database` or the embedded folder, for messages: never a password. */
  description: string
  /** How many connections its pool may open (for /metrics). */
  poolSize: number
  /** Runs `fn` while holding a session-level advisory lock, so that only one instance runs it at a time. */
  withLock<T>(key: number, fn: () => Promise<T>): Promise<T>
  /**
   * Postgres only: LISTEN on `channel` over a connection of its own, which the driver reconnects.
   * `onState` says when it is listening (true) and when the connection has dropped (false).
   */
  subscribe?(channel: string, onMessage: (payload: string) => void, onState: (listening: boolean) => void): Promise<void>
  close(): Promise<void>
}

/** How long start-up waits for the database's first answer. */
export const CONNECT_TIMEOUT_MS = 5000

/**
 * `DATABASE_URL` set: Postgres through the `postgres` driver. Unset: PGlite, an embedded Postgres
 * stored under the data folder. Same schema, same migrations, same queries.
 */
export async function openDatabase(settings: AuthSettings['database']): Promise<AuthDatabase> {
  return settings.kind === 'postgres' ? openPostgres(settings) : openEmbedded(settings.dir)
}

/** The innermost message of an error, on one line: never drizzle's "Failed query: <sql>" wrapper. */
export function reasonOf(err: unknown): string {
  let e: unknown = err
  for (let depth = 0; depth < 4 && (e as { cause?: unknown } | undefined)?.cause; depth++) e = (e as { cause: unknown }).cause
  const text = e instanceof Error ? e.message : String(e)
  return text.replace(/\s+/g, ' ').trim().slice(0, 200)
}

async function openPostgres(settings: Extract<AuthSettings['database'], { kind: 'postgres' }>): Promise<AuthDatabase> {
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const description = describeDatabase(settings)
  const client = postgres(settings.url, { connect_timeout: CONNECT_TIMEOUT_MS / 1000, max: 10, onnotice: () => undefined })
  try {
    // connect_timeout alone does not bound a host that drops packets: keep a deadline of our own.
    await withDeadline(CONNECT_TIMEOUT_MS, client`select 1`)
  } catch (err) {
    await client.end({ timeout: 0 }).catch(() => undefined)
    throw new AuthSettingError(`Cannot reach the auth database at ${description} (${reasonOf(err)}): check DATABASE_URL and that Postgres is running`)
  }
  let listener: ReturnType<typeof postgres> | undefined
  let closing = false
  let stopListening = () => undefined as void
  return {
    db: drizzle(client, { schema }) as unknown as Db,
    description,
    poolSize: 10,
    async subscribe(channel, onMessage, onState) {
      // Our own connection, not the driver's listen(): that one stops re-listening after a failed
      // reconnect. Here a dropped connection turns sharing off, and LISTEN is retried every second.
      const statement = `listen "${channel.replace(/"/g, '""')}"`
      let retry: NodeJS.Timeout | undefined
      const relisten = async (): Promise<void> => {
        if (closing) return
        try {
          await withDeadline(CONNECT_TIMEOUT_MS, listener!.unsafe(statement))
          onState(true)
        } catch {
          retry = setTimeout(() => void relisten(), 1000)
          retry.unref()
        }
      }
      // `onnotify` is the driver's own hook for notifications (its listen() is built on it); its
      // typings leave it out.
      const options = {
        max: 1,
        max_lifetime: null,
        connect_timeout: CONNECT_TIMEOUT_MS / 1000,
        onnotice: () => undefined,
        onnotify: (name: string, payload: string) => {
          if (name === channel) onMessage(payload)
        },
        onclose: () => {
          if (closing) return
          onState(false)
          clearTimeout(retry)
          retry = setTimeout(() => void relisten(), 100)
          retry.unref()
        },
        connection: { application_name: 'mlblocks_auth_listen' },
      }
      listener = postgres(settings.url, options as Parameters<typeof postgres>[1])
      stopListening = () => clearTimeout(retry)
      await withDeadline(CONNECT_TIMEOUT_MS, listener.unsafe(statement))
      onState(true)
    },
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
    async close() {
      closing = true
      stopListening()
      await listener?.end({ timeout: 1 }).catch(() => undefined)
      await client.end({ timeout: 5 })
    },
  }
}

async function openEmbedded(dir: string): Promise<AuthDatabase> {
  const path = join(dir, 'auth-db')
  try {
    await mkdir(path, { recursive: true })
  } catch (err) {
    throw new AuthSettingError(`MLBLOCKS_DATA_DIR ${dir} cannot be used (${reasonOf(err)}): point it at a writable folder`)
  }
  const unlock = await lockDataDir(dir)
  let embedded: EmbeddedPostgres
  try {
    embedded = await EmbeddedPostgres.open(path)
  } catch (err) {
    await unlock()
    throw new AuthSettingError(
      `The embedded auth database in ${path} cannot be opened (${reasonOf(err)}): point MLBLOCKS_DATA_DIR at a writable folder, or set DATABASE_URL`,
    )
  }
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  // One connection, as PGlite is one session; kept for the life of the server.
  const client = postgres({
    socket: () => embedded.connect(),
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    username: 'postgres',
    database: 'postgres',
    onnotice: () => undefined,
  } as Parameters<typeof postgres>[0] & object)
  const db = drizzle(client, { schema }) as unknown as Db
  return {
    db,
    description: `the embedded database in ${dir}`,
    poolSize: 1,
    async withLock(key, fn) {
      // One connection, which `fn` needs too: the lock is still taken, so the code path is the one Postgres runs.
      await db.execute(sql`select pg_advisory_lock(${key})`)
      try {
        return await fn()
      } finally {
        await db.execute(sql`select pg_advisory_unlock(${key})`)
      }
    },
    async close() {
      try {
        await client.end({ timeout: 5 })
        await embedded.close()
      } finally {
        await unlock()
      }
    },
  }
}

/** Lock files this process holds, so that a second open in the same process is refused too. */
const heldHere = new Set<string>()

/**
 * PGlite has no lock of its own, and two processes writing one folder corrupt it (a server and the
 * recovery CLI, say). A lock file with the holder's pid keeps it to one; a stale one (its process
 * gone) is taken over.
 *
 * Kept by hand rather than proper-lockfile: that library tells a stale lock only by its age (an
 * mtime it refreshes on a timer, `stale` >= 2 s), so a crashed server blocks the folder until the
 * lock ages, a live one whose event loop stalls past `stale` (a long migration, a debugger) loses
 * its lock to a second process, which corrupts PGlite, and the refusal cannot name the process to
 * stop. A pid answers both at once (resilience.test.ts asserts the pid in the message and the
 * immediate take-over of a dead holder's lock).
 */
async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'auth-db.lock')
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' })
      heldHere.add(path)
      return async () => {
        heldHere.delete(path)
        await rm(path, { force: true })
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new AuthSettingError(`MLBLOCKS_DATA_DIR ${dir} cannot be used (${reasonOf(err)}): point it at a writable folder`)
      }
    }
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10)
    if (isAlive(holder, path)) {
      throw new AuthSettingError(
        `The embedded auth database in ${dir} is in use by process ${holder}${holder === process.pid ? ' (this one)' : ''}: stop it first (or delete ${path} if no process uses it), or set DATABASE_URL to share a Postgres database between processes`,
      )
    }
    await rm(path, { force: true }) // stale: the process that held it is gone
  }
  throw new AuthSettingError(`The embedded auth database in ${dir} is being opened by another process: retry, or set DATABASE_URL`)
}

function isAlive(pid: number, path: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  if (pid === process.pid) return heldHere.has(path)
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // alive, but someone else's
  }
}
