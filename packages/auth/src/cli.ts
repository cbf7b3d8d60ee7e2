#!/usr/bin/env node
// mlblocks-auth: recovery tools that work on the same database as the plugin (DATABASE_URL, or the
// embedded database under MLBLOCKS_DATA_DIR). Passwords are read from standard input, never from
// the command line, where other users could see them.
import { createInterface } from 'node:readline'
import { sql } from 'drizzle-orm'
import { openDatabase } from './db/client.js'
import { migrateDatabase } from './db/migrate.js'
import { REVOCATIONS_CHANNEL } from './services/credentials.js'
import { Users, findByUsername } from './services/users.js'
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN, describeDatabase, resolveDatabase } from './settings.js'

const USAGE = `Usage:
  mlblocks-auth create-admin <username>     create an admin, or make an existing user an active admin
  mlblocks-auth reset-password <username>   set a new password (revokes the user's tokens and keys)
  mlblocks-auth list-users

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

async function main([command, username, ...rest]: string[]): Promise<void> {
  if (!command || command === '--help' || command === '-h') return void console.log(USAGE)
  const needsName = command === 'create-admin' || command === 'reset-password'
  if ((needsName && (!username || rest.length > 0)) || (!needsName && command !== 'list-users')) throw new Error(`unknown or incomplete command.\n${USAGE}`)
  if (needsName && !new RegExp(USERNAME_PATTERN).test(username!)) throw new Error('a username is 1-64 letters, digits or . _ @ -')

  const settings = resolveDatabase()
  const database = await openDatabase(settings)
  try {
    await migrateDatabase(database)
    // A change here reaches running servers as theirs do: NOTIFY on the channel they listen on (Postgres).
    const notify = (userId: string) => database.db.execute(sql`select pg_notify(${REVOCATIONS_CHANNEL}, ${JSON.stringify({ user: userId })})`)
    const changed: string[] = []
    const users = new Users(database.db, (userId) => void changed.push(userId))
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
        for (const userId of changed) await notify(userId)
        console.log(`${username} is now an active admin with the new password (${describeDatabase(settings)}).`)
      } else {
        await users.create({ username: username!, password, role: 'admin' })
        console.log(`Created the admin ${username} (${describeDatabase(settings)}).`)
      }
      return
    }
    if (!existing) throw new Error(`no user named '${username}'`)
    await users.update(existing.userId, { password })
    for (const userId of changed) await notify(userId)
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
