#!/usr/bin/env node
// mlblocks-auth: recovery tools that work on the same database as the plugin (DATABASE_URL, or the
// embedded database under MLBLOCKS_DATA_DIR). Passwords are read from standard input, never from
// the command line, where other users could see them; on a terminal they are not echoed.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { sql } from 'drizzle-orm'
import { openDatabase } from './db/client.js'
import { migrateDatabase } from './db/migrate.js'
import { REVOCATIONS_CHANNEL } from './services/credentials.js'
import { lockoutKeys } from './services/login-limits.js'
import { Users, findByUsername } from './services/users.js'
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN, describeDatabase, resolveDatabase } from './settings.js'

const USAGE = `Usage:
  mlblocks-auth create-admin <username> [--force] [--new-database]
                                            create an admin; --force makes an existing user an active
                                            admin with the new password
  mlblocks-auth reset-password <username>   set a new password (revokes the user's tokens and keys)
  mlblocks-auth list-users
  mlblocks-auth unlock <username>           lift the user's login back-off on every running server
  mlblocks-auth --version | --help | <command> --help

Passwords are read from standard input, e.g.  printf '%s' "$NEW_PASSWORD" | mlblocks-auth reset-password ada
(on a terminal they are asked for, and not shown).
Database: DATABASE_URL, or the embedded database in MLBLOCKS_DATA_DIR (default ./.mlblocks, from the
folder the server runs in); --new-database lets create-admin create an embedded one that is not there yet.`

/** A mistake in how the CLI was called: printed as one line followed by the usage. */
class UsageError extends Error {}

const COMMANDS = ['create-admin', 'reset-password', 'list-users', 'unlock'] as const
type Command = (typeof COMMANDS)[number]

/** Reads a password without echoing it when stdin is a terminal; otherwise the first line of stdin. */
async function readPassword(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  if (!input.isTTY) {
    const lines = createInterface({ input })
    for await (const line of lines) {
      lines.close()
      return line
    }
    return ''
  }
  // Echo off before the prompt shows, so that nothing typed after it is ever shown.
  input.setRawMode(true)
  output.write(prompt)
  input.resume()
  input.setEncoding('utf8')
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = ''
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') {
            input.off('data', onData)
            output.write('\n')
            resolve(typed)
            return
          }
          if (ch === '\u0003') {
            input.off('data', onData)
            output.write('\n')
            reject(new Error('cancelled'))
            return
          }
          if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('')
          else if (ch >= ' ') typed += ch
        }
      }
      input.on('data', onData)
    })
  } finally {
    input.setRawMode(false)
    input.pause()
  }
}

function checkPassword(password: string): string {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new Error(`the password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`)
  }
  return password
}

/** On a terminal, asks twice, so that a typo (which cannot be seen) does not become the password. */
async function askPassword(): Promise<string> {
  const password = checkPassword(await readPassword('New password (not shown): '))
  if (process.stdin.isTTY && (await readPassword('Again: ')) !== password) throw new Error('the two passwords differ; nothing was changed')
  return password
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        force: { type: 'boolean' },
        'new-database': { type: 'boolean' },
      },
    })
  } catch (err) {
    // Node's parseArgs says e.g. "Unknown option '--frce'. To specify a positional argument ...".
    const message = err instanceof Error ? err.message.split('. ')[0]!.replace(/\.$/, '') : String(err)
    throw new UsageError(message)
  }
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
      // The channel index.ts subscribes to: each server clears its memory of this name's failures.
      await database.db.execute(sql`select pg_notify(${REVOCATIONS_CHANNEL}, ${JSON.stringify({ unlock: username })})`)
      reached.push('every server on this database')
    }
    console.log(`Lifted ${username}'s login back-off (${reached.join(' and ')}).`)
  } finally {
    await database?.close()
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv)
  const [command, username, ...rest] = positionals
  if (values.version) return void console.log(version())
  if (values.help || command === undefined) return void console.log(USAGE)
  if (!COMMANDS.includes(command as Command)) throw new UsageError(`unknown command '${command}'`)
  const needsName = command !== 'list-users'
  if (needsName && !username) throw new UsageError(`${command} needs a username`)
  if ((needsName ? rest : [username, ...rest]).some((a) => a !== undefined)) {
    throw new UsageError(`unexpected argument '${(needsName ? rest : [username, ...rest]).join(' ')}'`)
  }
  if (values.force && command !== 'create-admin') throw new UsageError('--force only goes with create-admin')
  if (values['new-database'] && command !== 'create-admin') throw new UsageError('--new-database only goes with create-admin')
  if (needsName && !new RegExp(USERNAME_PATTERN).test(username!)) throw new Error('a username is 1-64 letters, digits or . _ @ -')
  if (command === 'unlock') return unlock(username!)

  const settings = resolveDatabase()
  if (settings.kind === 'embedded' && !existsSync(join(settings.dir, 'auth-db')) && !values['new-database']) {
    const create = command === 'create-admin' ? ', or pass --new-database to create one there' : ''
    throw new Error(
      `no database found: looked for the embedded database in ${settings.dir}. Run this from the folder the server runs in (under pnpm start: apps/playground), or set MLBLOCKS_DATA_DIR or DATABASE_URL${create}`,
    )
  }
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
    const before = await findByUsername(database.db, username!)
    if (command === 'create-admin' && before && !values.force) {
      throw new Error(`a user named '${username}' already exists (${before.role}${before.disabled ? ', disabled' : ''}): pass --force to make them an active admin with a new password, or choose another name`)
    }
    if (command === 'reset-password' && !before) throw new Error(`no user named '${username}'`)
    if (before?.role === 'service') throw new Error(`'${username}' is a service account: it has no password and never logs in (it calls blocks with API keys)`)
    const password = await askPassword()
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

function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`mlblocks-auth: ${err.message}.\n\n${USAGE}\n`)
    process.exit(2)
  }
  const message = err instanceof Error ? err.message : String(err)
  // The server's off switch means nothing to the CLI: drop it from shared settings errors.
  process.stderr.write(`mlblocks-auth: ${message.replace(/, or set AUTH_ENABLED=false to turn auth off\.$/, '.')}\n`)
  process.exit(1)
})
