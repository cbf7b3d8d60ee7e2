import { and, asc, count, eq, isNull, sql } from 'drizzle-orm'
import { BadInput } from '@mlblocks/core'
import type { Db } from '../db/client.js'
import { LOCK } from '../db/migrate.js'
import { apiKeys, tokens, users, type Role, type UserRow } from '../db/schema.js'
import { LastAdmin, UsernameTaken, UserNotFound } from '../errors.js'
import { AuthSettingError } from '../settings.js'
import { pgCode, UNIQUE_VIOLATION } from '../db/errors.js'
import { checkPassword, hashPassword } from './passwords.js'

export interface NewUser {
  username: string
  /** Absent only for role `service`, which never logs in. */
  password?: string
  role: Role
  blocks?: readonly string[]
}

export interface UserChanges {
  role?: Role
  password?: string
  blocks?: readonly string[]
  disabled?: boolean
}

/** Called after a change that must reach cached credentials at once (revocation, new grants). */
export type OnUserChanged = (userId: string) => void

/**
 * A login's lookup, built once: every login runs it. Prepared, a query is neither built again (by
 * drizzle, on the event loop) nor planned again (by the database); see `databaseUrl` in the README.
 */
const userNamed = (db: Db) =>
  db
    .select()
    .from(users)
    // Usernames are unique without regard to case (users_username_lower_idx): either case logs in.
    .where(sql`lower(${users.username}) = lower(${sql.placeholder('username')})`)
    .prepare('mlblocks_auth_user_named')

export class Users {
  constructor(
    private readonly db: Db,
    private readonly onChanged: OnUserChanged,
  ) {}

  #userNamed: ReturnType<typeof userNamed> | undefined

  async create(input: NewUser): Promise<UserRow> {
    const hashedPassword = input.password === undefined ? null : await hashPassword(input.password)
    try {
      const [row] = await this.db
        .insert(users)
        .values({ username: input.username, hashedPassword, role: input.role, blocks: [...(input.blocks ?? ['*'])] })
        .returning()
      return row!
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new UsernameTaken(input.username)
      throw err
    }
  }

  list(): Promise<UserRow[]> {
    return this.db.select().from(users).orderBy(asc(users.createdAt), asc(users.username))
  }

  async get(userId: string): Promise<UserRow> {
    const [row] = await this.db.select().from(users).where(eq(users.userId, userId))
    if (!row) throw new UserNotFound(userId)
    return row
  }

  /**
   * `user` if the password is right (else null), and the `account` the username names, if any (for
   * the audit log only). An unknown or disabled user costs one argon2 verification too, so every
   * failure takes the same time.
   */
  async login(username: string, password: string): Promise<{ user: UserRow | null; account: UserRow | null }> {
    const [row] = await (this.#userNamed ??= userNamed(this.db)).execute({ username })
    // A service account has no password: it is checked against the dummy hash, and always fails.
    const ok = await checkPassword(row?.hashedPassword ?? undefined, password)
    return { user: ok && row && !row.disabled && row.role !== 'service' ? row : null, account: row ?? null }
  }

  /**
   * Applies changes. Every change bumps the user's credentials_version, so that a login in flight
   * (its password checked against the row as it was) writes no token; a change of role, disabling
   * or a new password also revoke every token and key of the user.
   */
  async update(userId: string, changes: UserChanges): Promise<UserRow> {
    const hashedPassword = changes.password === undefined ? undefined : await hashPassword(changes.password)
    const row = await this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${LOCK.admins})`)
      const [current] = await tx.select().from(users).where(eq(users.userId, userId))
      if (!current) throw new UserNotFound(userId)
      checkServiceChange(current, changes)
      const losesAdmin = isActiveAdmin(current) && ((changes.role !== undefined && changes.role !== 'admin') || changes.disabled === true)
      if (losesAdmin && (await activeAdmins(tx)) <= 1) throw new LastAdmin()
      const [updated] = await tx
        .update(users)
        .set({
          ...(changes.role === undefined ? {} : { role: changes.role }),
          ...(changes.blocks === undefined ? {} : { blocks: [...changes.blocks] }),
          ...(changes.disabled === undefined ? {} : { disabled: changes.disabled }),
          ...(hashedPassword === undefined ? {} : { hashedPassword }),
          credentialsVersion: sql`${users.credentialsVersion} + 1`,
        })
        .where(eq(users.userId, userId))
        .returning()
      const roleChanged = current.role !== updated!.role
      const disabled = !current.disabled && updated!.disabled
      if (roleChanged || disabled || hashedPassword !== undefined) await revokeAll(tx, userId)
      return updated!
    })
    this.onChanged(userId)
    return row
  }

  /**
   * `POST /me/password`: the current password must be right (null when it is not). The new one is
   * stored, the user's credentials_version bumped and every login token of theirs revoked, in one
   * transaction that applies only if nobody changed the user since the check (else null too). API
   * keys stay: they are managed apart (an admin's reset still revokes them).
   */
  async changeOwnPassword(userId: string, current: string, next: string): Promise<UserRow | 'wrong' | 'changed'> {
    const before = await this.get(userId)
    if (!(await checkPassword(before.hashedPassword ?? undefined, current)) || before.hashedPassword === null) return 'wrong'
    const hashedPassword = await hashPassword(next)
    const row = await this.db.transaction(async (tx) => {
      const [updated] = await tx
        .update(users)
        .set({ hashedPassword, credentialsVersion: sql`${users.credentialsVersion} + 1` })
        .where(and(eq(users.userId, userId), eq(users.credentialsVersion, before.credentialsVersion), eq(users.disabled, false)))
        .returning()
      if (!updated) return null
      await tx.update(tokens).set({ revokedAt: new Date() }).where(and(eq(tokens.userId, userId), isNull(tokens.revokedAt)))
      return updated
    })
    if (!row) return 'changed'
    this.onChanged(userId)
    return row
  }

  async remove(userId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${LOCK.admins})`)
      const [current] = await tx.select().from(users).where(eq(users.userId, userId))
      if (!current) throw new UserNotFound(userId)
      if (isActiveAdmin(current) && (await activeAdmins(tx)) <= 1) throw new LastAdmin()
      await tx.delete(users).where(eq(users.userId, userId)) // tokens and keys go with it (cascade)
    })
    this.onChanged(userId)
  }

  /**
   * Creates the first admin when no active admin exists. Never touches an existing user: if the
   * name is taken by someone who is not an admin, start-up stops and says so.
   */
  async bootstrapAdmin(admin: { username: string; password: string } | null): Promise<'created' | 'exists' | 'skipped'> {
    if (!admin) return 'skipped'
    if ((await activeAdmins(this.db)) > 0) return 'exists'
    const hashedPassword = await hashPassword(admin.password)
    // Under the admins lock: of several instances starting at once on an empty database, one
    // creates the admin and the others see it.
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${LOCK.admins})`)
      if ((await activeAdmins(tx)) > 0) return 'exists'
      const [taken] = await tx.select().from(users).where(sql`lower(${users.username}) = lower(${admin.username})`)
      if (taken) {
        throw new AuthSettingError(
          `MLBLOCKS_ADMIN_USERNAME '${admin.username}' belongs to a user who is not an active admin, and no admin exists: choose another name, or promote that user with \`mlblocks-auth create-admin ${admin.username} --force\``,
        )
      }
      await tx.insert(users).values({ username: admin.username, hashedPassword, role: 'admin', blocks: ['*'] })
      return 'created'
    })
  }
}

/** A service account never gets a password, and no account becomes one or stops being one (create a new account instead). */
function checkServiceChange(current: UserRow, changes: UserChanges): void {
  if (changes.role !== undefined && (changes.role === 'service') !== (current.role === 'service')) {
    throw new BadInput(`body.role: an account cannot become a service account or stop being one (this one is '${current.role}'): create a new account with role '${changes.role}' instead.`)
  }
  if (current.role === 'service' && changes.password !== undefined) {
    throw new BadInput('body.password: a service account has no password and never logs in; it calls blocks with the API keys an admin issues to it.')
  }
}

function isActiveAdmin(u: UserRow): boolean {
  return u.role === 'admin' && !u.disabled
}

async function activeAdmins(db: Pick<Db, 'select'>): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.role, 'admin'), eq(users.disabled, false)))
  return row?.n ?? 0
}

async function revokeAll(db: Pick<Db, 'update'>, userId: string): Promise<void> {
  const now = new Date()
  await db.update(tokens).set({ revokedAt: now }).where(and(eq(tokens.userId, userId), isNull(tokens.revokedAt)))
  await db.update(apiKeys).set({ revokedAt: now }).where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
}

/** For the recovery CLI: the user of that name, in any case. */
export async function findByUsername(db: Db, username: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(sql`lower(${users.username}) = lower(${username})`)
  return row
}
