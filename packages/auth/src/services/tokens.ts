import { randomUUID } from 'node:crypto'
import { and, eq, isNull, lt, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { tokens, users, type UserRow } from '../db/schema.js'
import { groupGrantsOf, parseGroupGrants } from './access.js'
import { principalOf, type Principal } from './principal.js'

export interface Signer {
  sign(payload: { sub: string; jti: string; exp: number }): string
  /** Checks signature (HS256 only) and expiry; throws otherwise. */
  verify(token: string): { iss?: unknown; sub?: unknown; jti?: unknown; exp?: unknown }
}

const PURGE_EVERY_MS = 3_600_000
/** The `iss` of every login token. */
export const TOKEN_ISSUER = 'mlblocks'

/**
 * A login's token row, written only if the user still exists, is not disabled and has the
 * credentials_version that the password was checked against: one statement, so that a change
 * committed while argon2 ran leaves nothing to revoke. `for share` waits for a change in progress
 * and then reads the row as it left it (a deletion: no row, never a foreign-key error).
 */
const insertToken = (db: Db, tokenId: string, user: Pick<UserRow, 'userId' | 'credentialsVersion'>, expiresAt: Date) =>
  db.execute(sql`insert into ${tokens} (token_id, user_id, expiration_date)
    select ${tokenId}::uuid, ${users.userId}, ${expiresAt.toISOString()}::timestamptz from ${users}
    where ${users.userId} = ${user.userId}::uuid and ${users.credentialsVersion} = ${user.credentialsVersion}::integer and not ${users.disabled}
    for share
    returning token_id`)

/** A token's row and its user, built once: every first use of a token runs it. */
const liveToken = (db: Db) =>
  db
    .select({ token: tokens, user: users, groups: groupGrantsOf(users.userId) })
    .from(tokens)
    .innerJoin(users, eq(users.userId, tokens.userId))
    .where(and(eq(tokens.tokenId, sql.placeholder('tokenId')), isNull(tokens.revokedAt)))
    .prepare('mlblocks_auth_live_token')

/** Login tokens: JWTs whose `jti` is a row, so that they can be revoked before they expire. */
export class Tokens {
  constructor(
    private readonly db: Db,
    private readonly signer: Signer,
    private readonly ttlMs: number,
  ) {}

  #liveToken: ReturnType<typeof liveToken> | undefined

  /** When expired rows are next deleted: at most once an hour, on a login. */
  #nextPurge = 0

  /**
   * A new token for `user` as it was read before its password was checked, or null when the user
   * has changed since (password, role, grants, disabled, deleted): the login then answers 401.
   */
  async issue(user: Pick<UserRow, 'userId' | 'credentialsVersion'>): Promise<{ jwt: string; expiresAt: Date } | null> {
    if (Date.now() >= this.#nextPurge) {
      this.#nextPurge = Date.now() + PURGE_EVERY_MS
      await this.purgeExpired().catch(() => undefined) // housekeeping never fails a login
    }
    const tokenId = randomUUID()
    // Whole seconds, as in the JWT, so that the row and the token expire together.
    const expiresAt = new Date(Math.floor((Date.now() + this.ttlMs) / 1000) * 1000)
    const written = (await insertToken(this.db, tokenId, user, expiresAt)) as unknown as unknown[]
    if (written.length === 0) return null
    return { jwt: this.signer.sign({ sub: user.userId, jti: tokenId, exp: expiresAt.getTime() / 1000 }), expiresAt }
  }

  /** The principal and the token's expiry, or null: bad signature, expired, revoked, unknown, or user gone or disabled. */
  async verify(jwt: string): Promise<{ principal: Principal; expiresAt: Date } | null> {
    let claims: { iss?: unknown; sub?: unknown; jti?: unknown; exp?: unknown }
    try {
      claims = this.signer.verify(jwt)
    } catch {
      return null
    }
    // Every token this plugin signs carries all four: one without any of them is not ours.
    if (claims.iss !== TOKEN_ISSUER || typeof claims.jti !== 'string' || typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return null
    const [row] = await (this.#liveToken ??= liveToken(this.db)).execute({ tokenId: claims.jti })
    if (!row || row.user.userId !== claims.sub || row.user.disabled || row.token.expirationDate.getTime() <= Date.now()) return null
    return {
      principal: principalOf(row.user, parseGroupGrants(row.groups), 'token', claims.jti),
      expiresAt: row.token.expirationDate,
    }
  }

  /** Deletes the rows of expired tokens (they can never be used again), so the table stays small. */
  async purgeExpired(): Promise<number> {
    const gone = await this.db.delete(tokens).where(lt(tokens.expirationDate, new Date())).returning({ tokenId: tokens.tokenId })
    return gone.length
  }

  async revoke(tokenId: string): Promise<void> {
    await this.db.update(tokens).set({ revokedAt: new Date() }).where(and(eq(tokens.tokenId, tokenId), isNull(tokens.revokedAt)))
  }
}
