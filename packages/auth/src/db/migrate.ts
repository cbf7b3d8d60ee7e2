import { fileURLToPath } from 'node:url'
import { AuthSettingError } from '../settings.js'
import { reasonOf, type AuthDatabase } from './client.js'

/** Advisory lock keys: any constant shared by every instance of this package. */
export const LOCK = { migrate: 0x6d6c6201, admins: 0x6d6c6202 } as const

const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url))
const config = { migrationsFolder, migrationsSchema: 'mlblocks_auth', migrationsTable: '__drizzle_migrations' }

/**
 * Applies the shipped SQL migrations under an advisory lock: instances starting together migrate
 * once. A failure (say, a database user who may not create a schema) stops start-up with one line.
 */
export async function migrateDatabase(database: AuthDatabase): Promise<void> {
  try {
    await database.withLock(LOCK.migrate, async () => {
      const { migrate } = await import('drizzle-orm/postgres-js/migrator')
      await migrate(database.db as never, config)
    })
  } catch (err) {
    if (err instanceof AuthSettingError) throw err
    // A migration that refuses the data as it is (usernames that differ only in case) says what to fix.
    const refused = /mlblocks_auth: (.+)$/s.exec(innermostMessage(err))
    if (refused) throw new AuthSettingError(`Cannot upgrade the auth database at ${database.description}: ${refused[1]!.replace(/\s+/g, ' ')}`)
    throw new AuthSettingError(
      `Cannot apply the auth database migrations to ${database.description} (${reasonOf(err)}): check that the DATABASE_URL user may create the mlblocks_auth schema and its tables`,
    )
  }
}

function innermostMessage(err: unknown): string {
  let e: unknown = err
  for (let depth = 0; depth < 4 && (e as { cause?: unknown } | undefined)?.cause; depth++) e = (e as { cause: unknown }).cause
  return e instanceof Error ? e.message : String(e)
}
