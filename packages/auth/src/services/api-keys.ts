import { createHash, randomInt } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { and, count, desc, eq, gt, isNull, or, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { apiKeys, auditEvents, users, type ApiKeyRow } from '../db/schema.js'
import { ApiKeyNotFound, ApiKeyNotLive, TooManyKeys, UserNotFound } from '../errors.js'
import { groupGrantsOf, parseGroupGrants } from './access.js'
import { principalOf, type Principal } from './principal.js'

export const API_KEY_PREFIX = 'mlb_'
const PREFIX_SHOWN = 12 // `mlb_` and 8 characters: enough to tell keys apart, useless to guess one
/** `last_used_at` is kept to the minute. */
const LAST_USED_PRECISION_MS = 60_000
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** 30 random base62 characters (178 bits), then 6 of their CRC32 in base62. */
const RANDOM_LENGTH = 30
const CHECKSUM_LENGTH = 6
/** What secret scanners look for: every key issued now matches it. */
export const API_KEY_PATTERN = /^mlb_[0-9A-Za-z]{36}$/
/** Keys issued before the checksum: `mlb_` and 43 base62 characters. */
const LEGACY_PATTERN = /^mlb_[0-9A-Za-z]{43}$/

const base62 = (n: number, width: number): string => {
  let out = ''
  for (let i = 0; i < width; i++) {
    out = BASE62[n % 62]! + out
    n = Math.floor(n / 62)
  }
  return out
}

/** The checksum of a key's random part: its CRC32 in 6 base62 characters (62^6 > 2^32). */
const checksum = (random: string): string => base62(crc32(random) >>> 0, CHECKSUM_LENGTH)

/** `mlb_` + 30 random base62 characters + 6 characters of their CRC32: `mlb_[0-9A-Za-z]{36}`. */
export function generateApiKey(): string {
  let random = ''
  for (let i = 0; i < RANDOM_LENGTH; i++) random += BASE62[randomInt(62)]
  return API_KEY_PREFIX + random + checksum(random)
}

/** True when a key of today's format carries the right checksum: a random or forged key fails it without any lookup. */
export function hasValidChecksum(key: string): boolean {
  if (!API_KEY_PATTERN.test(key)) return false
  const random = key.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + RANDOM_LENGTH)
  return checksum(random) === key.slice(API_KEY_PREFIX.length + RANDOM_LENGTH)
}

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex')

/** The longest grace a rotation may give the old secret: a day. */
export const MAX_GRACE_SECONDS = 86_400
/** Live keys one user may hold through self-service (admins may issue more). */
export const MAX_OWN_KEYS = 100

/** What listings show of a key: never the key or its hash. */
export const toApiKeyRecord = (k: ApiKeyRow) => ({
  key_id: k.keyId,
  user_id: k.userId,
  name: k.name,
  prefix: k.prefix,
  blocks: k.blocks,
  expiration_date: k.expirationDate?.toISOString() ?? null,
  created_at: k.createdAt.toISOString(),
  revoked_at: k.revokedAt?.toISOString() ?? null,
  last_used_at: k.lastUsedAt?.toISOString() ?? null,
  issued_by: k.issuedByName === null ? null : { user_id: k.issuedBy, username: k.issuedByName },
  rotated_at: k.rotatedAt?.toISOString() ?? null,
  previous_prefix: k.previousKeyHash === null ? null : k.previousPrefix,
  previous_valid_until: k.previousKeyHash === null ? null : (k.previousValidUntil?.toISOString() ?? null),
})

/** What a new key is issued with. */
export interface NewKey {
  expirationDate: Date | null
  name?: string | null
  /** The scope: null means all of the owner's blocks. */
  blocks?: readonly string[] | null
  issuedBy?: { userId: string; username: string } | null
}

/** The scope as stored: `["*"]` (or nothing) is all the owner's (null); names deduplicated and sorted. */
export const normalizeScope = (blocks: readonly string[] | null | undefined): string[] | null =>
  !blocks || blocks.includes('*') ? null : [...new Set(blocks)].sort()

/** A key's row and its user by the key's hash, built once: every first use of a key runs it. */
const liveKey = (db: Db) =>
  db
    .select({ key: apiKeys, user: users, groups: groupGrantsOf(users.userId) })
    .from(apiKeys)
    .innerJoin(users, eq(users.userId, apiKeys.userId))
    // The current secret, or the one before a rotation while its grace lasts: both by a unique index.
    .where(
      and(
        or(eq(apiKeys.keyHash, sql.placeholder('keyHash')), and(eq(apiKeys.previousKeyHash, sql.placeholder('keyHash')), gt(apiKeys.previousValidUntil, sql`now()`))),
        isNull(apiKeys.revokedAt),
      ),
    )
    .prepare('mlblocks_auth_live_key')

export class ApiKeys {
  constructor(private readonly db: Db) {}

  /** Timers that clear old secrets at the end of their grace (see endGraces). */
  readonly #graceTimers = new Set<NodeJS.Timeout>()

  /** Runs endGraces once a rotation's grace is over (plus a second); `onError` gets a failure. */
  scheduleGraceEnd(graceSeconds: number, onError: (err: unknown) => void): void {
    const timer = setTimeout(() => {
      this.#graceTimers.delete(timer)
      void this.endGraces().catch(onError)
    }, graceSeconds * 1000 + 1000)
    timer.unref()
    this.#graceTimers.add(timer)
  }

  /** Stops the grace timers (the server closes; the next start, or the hourly sweep, clears what is left). */
  close(): void {
    for (const timer of this.#graceTimers) clearTimeout(timer)
    this.#graceTimers.clear()
  }

  #liveKey: ReturnType<typeof liveKey> | undefined
  /**
   * Keys issued before the checksum (no CRC to check), by key id: their prefix and owner. A key of
   * that old shape goes to the database only when its prefix is one of these, so random keys of
   * the old length cost no query either. Loaded at start; revocations take keys out.
   */
  readonly #legacy = new Map<string, string>()
  readonly #legacyPrefixes = new Map<string, number>()

  /** Loads the prefixes of the live keys issued before the checksum (at start, and after a user's keys were revoked). */
  async loadLegacyPrefixes(): Promise<void> {
    const rows = await this.db
      .select({ keyId: apiKeys.keyId, prefix: apiKeys.prefix, checksummed: apiKeys.checksummed, previousPrefix: apiKeys.previousPrefix, previousChecksummed: apiKeys.previousChecksummed })
      .from(apiKeys)
      // An old key rotated with a grace: its old secret works (and is worth a lookup) until the grace ends.
      .where(and(or(eq(apiKeys.checksummed, false), and(eq(apiKeys.previousChecksummed, false), gt(apiKeys.previousValidUntil, sql`now()`))), isNull(apiKeys.revokedAt)))
    this.#legacy.clear()
    this.#legacyPrefixes.clear()
    for (const row of rows) {
      const prefix = row.checksummed ? row.previousPrefix! : row.prefix
      this.#legacy.set(row.keyId, prefix)
      this.#legacyPrefixes.set(prefix, (this.#legacyPrefixes.get(prefix) ?? 0) + 1)
    }
  }

  /** Some user's keys may have been revoked: reload the old keys' prefixes (no keys of the old shape, no query). */
  reloadLegacy(): void {
    if (this.#legacy.size === 0) return // the set only shrinks: once empty, it stays so
    void this.loadLegacyPrefixes().catch(() => undefined) // a stale prefix costs one lookup, never a wrong answer
  }

  /** A revoked key: no longer worth a lookup. */
  forgetLegacy(match: { keyId: string }): void {
    const prefix = this.#legacy.get(match.keyId)
    if (prefix === undefined) return
    this.#legacy.delete(match.keyId)
    const left = (this.#legacyPrefixes.get(prefix) ?? 1) - 1
    if (left > 0) this.#legacyPrefixes.set(prefix, left)
    else this.#legacyPrefixes.delete(prefix)
  }

  /** Whether `key` could be a live key at all, decided without the database: its checksum, or an old key's prefix. */
  mayExist(key: string): boolean {
    if (hasValidChecksum(key)) return true
    return LEGACY_PATTERN.test(key) && this.#legacyPrefixes.has(key.slice(0, PREFIX_SHOWN))
  }

  /**
   * Issues a key for a user. The key itself is returned this once and only its hash is stored.
   * Written only if the user still exists, in one statement: a deletion in flight is a 404, not a
   * foreign-key error.
   */
  async issue(userId: string, input: NewKey): Promise<{ key: string; row: ApiKeyRow }> {
    const key = generateApiKey()
    const blocks = normalizeScope(input.blocks)
    const written = await this.db.execute<{ key_id: string }>(sql`insert into ${apiKeys} (user_id, key_hash, prefix, expiration_date, name, blocks, issued_by, issued_by_name)
      select ${users.userId}, ${hashApiKey(key)}, ${key.slice(0, PREFIX_SHOWN)}, ${input.expirationDate?.toISOString() ?? null}::timestamptz,
        ${input.name ?? null}, ${blocks === null ? null : sql`${`{${blocks.join(',')}}`}::text[]`}, ${input.issuedBy?.userId ?? null}::uuid, ${input.issuedBy?.username ?? null}
      from ${users}
      where ${users.userId} = ${userId}::uuid
      for share
      returning key_id`)
    const [created] = written as unknown as Array<{ key_id: string }>
    if (!created) throw new UserNotFound(userId)
    return { key, row: await this.get(created.key_id) }
  }

  /**
   * A self-service key: as `issue`, and only while the owner holds fewer than MAX_OWN_KEYS live keys.
   * The owner's row is locked first, so that concurrent requests cannot both pass the count.
   */
  async issueOwn(userId: string, input: NewKey): Promise<{ key: string; row: ApiKeyRow }> {
    return this.db.transaction(async (tx) => {
      const [owner] = await tx.select({ id: users.userId }).from(users).where(eq(users.userId, userId)).for('update')
      if (!owner) throw new UserNotFound(userId)
      const [live] = await tx
        .select({ n: count() })
        .from(apiKeys)
        .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt), or(isNull(apiKeys.expirationDate), gt(apiKeys.expirationDate, sql`now()`))))
      if ((live?.n ?? 0) >= MAX_OWN_KEYS) throw new TooManyKeys(MAX_OWN_KEYS)
      return new ApiKeys(tx as unknown as Db).issue(userId, input)
    })
  }

  async get(keyId: string, ownerId?: string): Promise<ApiKeyRow> {
    const [row] = await this.db.select().from(apiKeys).where(eq(apiKeys.keyId, keyId))
    // Another user's key is as unknown as a key that never existed: a 404, never a 403.
    if (!row || (ownerId !== undefined && row.userId !== ownerId)) throw new ApiKeyNotFound(keyId)
    return row
  }

  list(userId?: string): Promise<ApiKeyRow[]> {
    const query = this.db.select().from(apiKeys)
    return (userId ? query.where(eq(apiKeys.userId, userId)) : query).orderBy(desc(apiKeys.createdAt))
  }

  /** Revokes a key (of `ownerId` only, when given: another's is a 404); revoking it again is harmless. Returns its owner. */
  async revoke(keyId: string, ownerId?: string): Promise<string> {
    const row = await this.get(keyId, ownerId)
    await this.db.update(apiKeys).set({ revokedAt: new Date() }).where(and(eq(apiKeys.keyId, keyId), isNull(apiKeys.revokedAt)))
    return row.userId
  }

  /**
   * A new secret under the same key id (of `ownerId` only, when given). The old secret keeps working
   * for `graceSeconds` (0: it stops now), on every instance, since the lookup compares the grace
   * with the database's clock; rotating again ends an earlier grace at once. Revoked or expired keys
   * are not rotated (409).
   */
  async rotate(keyId: string, graceSeconds: number, ownerId?: string): Promise<{ key: string; row: ApiKeyRow }> {
    const key = generateApiKey()
    return this.db.transaction(async (tx) => {
      const [row] = await tx.select().from(apiKeys).where(eq(apiKeys.keyId, keyId)).for('update')
      if (!row || (ownerId !== undefined && row.userId !== ownerId)) throw new ApiKeyNotFound(keyId)
      if (row.revokedAt) throw new ApiKeyNotLive(keyId, 'revoked')
      if (row.expirationDate && row.expirationDate.getTime() <= Date.now()) throw new ApiKeyNotLive(keyId, 'expired')
      const grace = graceSeconds > 0
      const [rotated] = await tx
        .update(apiKeys)
        .set({
          previousKeyHash: grace ? row.keyHash : null,
          previousPrefix: grace ? row.prefix : null,
          previousChecksummed: grace ? row.checksummed : null,
          previousValidUntil: grace ? sql`now() + make_interval(secs => ${graceSeconds}::double precision)` : null,
          keyHash: hashApiKey(key),
          prefix: key.slice(0, PREFIX_SHOWN),
          checksummed: true,
          rotatedAt: sql`now()`,
        })
        .where(eq(apiKeys.keyId, keyId))
        .returning()
      return { key, row: rotated! }
    })
  }

  /**
   * Clears the old secrets whose grace is over (they stopped working at its end already: the lookup
   * compares it) and records `api_key.grace_ended` for each, in one statement: of several
   * instances, one records it. Returns the key ids.
   */
  async endGraces(): Promise<string[]> {
    const ended = await this.db.execute<{ target: string }>(sql`with ended as (
        update ${apiKeys} set previous_key_hash = null, previous_prefix = null, previous_checksummed = null, previous_valid_until = null
        where previous_valid_until <= now() returning key_id, user_id)
      insert into ${auditEvents} (action, target) select 'api_key.grace_ended', key_id::text from ended
      returning target`)
    return (ended as unknown as Array<{ target: string }>).map((r) => r.target)
  }

  /** Found by the hash's unique index: the lookup time tells nothing about the key. */
  async verify(key: string): Promise<{ principal: Principal; expiresAt: Date | null } | null> {
    if (!this.mayExist(key)) return null // no query for a random or forged key
    const keyHash = hashApiKey(key)
    const [row] = await (this.#liveKey ??= liveKey(this.db)).execute({ keyHash })
    const now = Date.now()
    if (!row || row.user.disabled || (row.key.expirationDate && row.key.expirationDate.getTime() <= now)) return null
    // The old secret of a rotation stops at the end of its grace (or the key's expiry, if sooner).
    const graceEnd = row.key.keyHash === keyHash ? null : row.key.previousValidUntil
    const expiresAt = graceEnd && (!row.key.expirationDate || graceEnd < row.key.expirationDate) ? graceEnd : row.key.expirationDate
    // Only on a cache miss, and at most once a minute per key: a write per request would cost more
    // than the lookup it follows (with AUTH_CACHE_TTL=0, say).
    if (!row.key.lastUsedAt || now - row.key.lastUsedAt.getTime() >= LAST_USED_PRECISION_MS) {
      await this.db.update(apiKeys).set({ lastUsedAt: new Date(now) }).where(eq(apiKeys.keyId, row.key.keyId))
    }
    return {
      // The owner's rights now (own grants ∪ groups'), narrowed by the key's scope in mayCall.
      principal: principalOf(row.user, parseGroupGrants(row.groups), 'api_key', row.key.keyId, { scope: row.key.blocks, keyExpiresAt: expiresAt }),
      expiresAt,
    }
  }
}
