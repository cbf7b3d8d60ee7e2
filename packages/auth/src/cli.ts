#!/usr/bin/env node
// mlblocks-auth: recovery tools that work on the same database as the plugin (DATABASE_URL, or the
// embedded database under MLBLOCKS_DATA_DIR). Passwords are read from standard input, never from
// the command line, where other users could see them.
import { createInterface } from 'node:readline'
import { openDatabase } from './db/client.js'
import { migrateDatabase } from './db/migrate.js'
import { sql } from 'drizzle-orm'
import { lockoutKeys } from './services/login-limits.js'
import { Users, findByUsername } from './services/users.js'
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN, describeDatabase, resolveDatabase } from './settings.js'

const USAGE = `Usage:
  mlblocks-auth create-admin <username>     create an admin, or make an existing user an active admin
  mlblocks-auth reset-password <username>   set a new password (revokes the user's tokens and keys)
  mlblocks-auth list-users
  mlblocks-auth unlock <username>           lift the user's login back-off on every running server

Passwords are read from standard input, e.g.  printf '%s' "$NEW_PASSWORD" | mlblocks-auth reset-password ada
Database: DATABASE_URL, or the embedded database in MLBLOCKS_DATA_DIR (default ./.mlblocks).`

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password (input is shown; prefer piping it): ')
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) {
    lines.close()
    return line
  }
  return ''
}

function checkPassword(password: string): string {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new Error(`the password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`)
  }
  return password
}

/**
 * `unlock NAME`: the back-off lives in Redis (REDIS_URL) and in each server's memory. Deletes the
 * Redis keys, and on Postgres tells every running server through the channel they listen on for
 * revocations. The embedded database is held by its one server while it runs: there, use
 * DELETE /admin/users/:id/lockout (a stopped server's limits are gone with it).
 */
async function unlock(username: string): Promise<void> {
  const settings = resolveDatabase()
  const redisUrl = process.env.REDIS_URL?.trim()
  if (settings.kind === 'embedded' && !redisUrl) {
    throw new Error(
      "with the embedded database a server's login limits are in its memory, where this command cannot reach: use DELETE /admin/users/:id/lockout on the running server (a stopped server has no lockout left)",
    )
  }
  const reached: string[] = []
  // The embedded folder is never opened here: its server may hold it (one process at a time).
  const database = settings.kind === 'postgres' ? await openDatabase(settings) : null
  try {
    if (database) {
      await migrateDatabase(database)
      if (!(await findByUsername(database.db, username))) throw new Error(`no user named '${username}'`)
    }
    if (redisUrl) {
      const { Redis } = await import('ioredis')
      const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 5000, retryStrategy: () => null })
      redis.on('error', () => undefined) // reported by connect() below
      try {
        await redis.connect()
        await redis.del(...lockoutKeys(username))
        reached.push('Redis')
      } catch (err) {
        throw new Error(`cannot reach Redis (${err instanceof Error ? err.message : String(err)}): check REDIS_URL`)
      } finally {
        redis.disconnect()
      }
    }
    if (database) {
      // The channel index.ts subscribes to (mlblocks_auth_revocations): each server clears its memory.
      await database.db.execute(sql`select pg_notify('mlblocks_auth_revocations', ${JSON.stringify({ unlock: username })})`)
      reached.push('every server on this database')
    }
    console.log(`Lifted ${username}'s login back-off (${reached.join(' and ')}).`)
  } finally {
    await database?.close()
  }
}

async function main([command, username, ...rest]: string[]): Promise<void> {
  if (!command || command === '--help' || command === '-h') return void console.log(USAGE)
  if (command === 'unlock') {
    if (!username || rest.length > 0) throw new Error(`unknown or incomplete command.\n${USAGE}`)
    if (!new RegExp(USERNAME_PATTERN).test(username)) throw new Error('a username is 1-64 letters, digits or . _ @ -')
    return unlock(username)
  }
  const needsName = command === 'create-admin' || command === 'reset-password'
  if ((needsName && (!username || rest.length > 0)) || (!needsName && command !== 'list-users')) throw new Error(`unknown or incomplete command.\n${USAGE}`)
  if (needsName && !new RegExp(USERNAME_PATTERN).test(username!)) throw new Error('a username is 1-64 letters, digits or . _ @ -')

  const settings = resolveDatabase()
  const database = await openDatabase(settings)
  try {
    await migrateDatabase(database)
    const users = new Users(database.db, () => undefined)
    if (command === 'list-users') {
      const rows = await users.list()
      console.log(['username', 'role', 'disabled', 'created', 'user_id'].join('\t'))
      for (const u of rows) console.log([u.username, u.role, u.disabled, u.createdAt.toISOString(), u.userId].join('\t'))
      return
    }
    const password = checkPassword(await readPassword())
    const existing = await findByUsername(database.db, username!)
    if (command === 'create-admin') {
      if (existing) {
        await users.update(existing.userId, { role: 'admin', disabled: false, password })
        console.log(`${username} is now an active admin with the new password (${describeDatabase(settings)}).`)
      } else {
        await users.create({ username: username!, password, role: 'admin' })
        console.log(`Created the admin ${username} (${describeDatabase(settings)}).`)
      }
      return
    }
    if (!existing) throw new Error(`no user named '${username}'`)
    await users.update(existing.userId, { password })
    console.log(`New password set for ${username}; their tokens and API keys are revoked.`)
  } finally {
    await database.close()
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err)
  // The server's off switch means nothing to the CLI: drop it from shared settings errors.
  process.stderr.write(`mlblocks-auth: ${message.replace(/, or set AUTH_ENABLED=false to turn auth off\.$/, '.')}\n`)
  process.exit(1)
})
