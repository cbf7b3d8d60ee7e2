import { createHash, randomInt } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { and, desc, eq, isNull, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { apiKeys, users, type ApiKeyRow } from '../db/schema.js'
import { ApiKeyNotFound, UserNotFound } from '../errors.js'
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

/** What listings show of a key: never the key or its hash. */
export const toApiKeyRecord = (k: ApiKeyRow) => ({
  key_id: k.keyId,
  user_id: k.userId,
  prefix: k.prefix,
  expiration_date: k.expirationDate?.toISOString() ?? null,
  created_at: k.createdAt.toISOString(),
  revoked_at: k.revokedAt?.toISOString() ?? null,
  last_used_at: k.lastUsedAt?.toISOString() ?? null,
})

/** A key's row and its user by the key's hash, built once: every first use of a key runs it. */
const liveKey = (db: Db) =>
  db
    .select({ key: apiKeys, user: users, groups: groupGrantsOf(users.userId) })
    .from(apiKeys)
    .innerJoin(users, eq(users.userId, apiKeys.userId))
    .where(and(eq(apiKeys.keyHash, sql.placeholder('keyHash')), isNull(apiKeys.revokedAt)))
    .prepare('mlblocks_auth_live_key')

export class ApiKeys {
  constructor(private readonly db: Db) {}

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
      .select({ keyId: apiKeys.keyId, prefix: apiKeys.prefix })
      .from(apiKeys)
      .where(and(eq(apiKeys.checksummed, false), isNull(apiKeys.revokedAt)))
    this.#legacy.clear()
    this.#legacyPrefixes.clear()
    for (const row of rows) {
      this.#legacy.set(row.keyId, row.prefix)
      this.#legacyPrefixes.set(row.prefix, (this.#legacyPrefixes.get(row.prefix) ?? 0) + 1)
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
  async issue(userId: string, expirationDate: Date | null): Promise<{ key: string; row: Pick<ApiKeyRow, 'keyId' | 'userId' | 'expirationDate'> }> {
    const key = generateApiKey()
    const written = await this.db.execute<{ key_id: string }>(sql`insert into ${apiKeys} (user_id, key_hash, prefix, expiration_date)
      select ${users.userId}, ${hashApiKey(key)}, ${key.slice(0, PREFIX_SHOWN)}, ${expirationDate?.toISOString() ?? null}::timestamptz from ${users}
      where ${users.userId} = ${userId}::uuid
      for share
      returning key_id`)
    const [row] = written as unknown as Array<{ key_id: string }>
    if (!row) throw new UserNotFound(userId)
    return { key, row: { keyId: row.key_id, userId, expirationDate } }
  }

  list(userId?: string): Promise<ApiKeyRow[]> {
    const query = this.db.select().from(apiKeys)
    return (userId ? query.where(eq(apiKeys.userId, userId)) : query).orderBy(desc(apiKeys.createdAt))
  }

  /** Revokes a key; revoking it again is harmless. Returns its owner. */
  async revoke(keyId: string): Promise<string> {
    const [row] = await this.db.select().from(apiKeys).where(eq(apiKeys.keyId, keyId))
    if (!row) throw new ApiKeyNotFound(keyId)
    await this.db.update(apiKeys).set({ revokedAt: new Date() }).where(and(eq(apiKeys.keyId, keyId), isNull(apiKeys.revokedAt)))
    return row.userId
  }

  /** Found by the hash's unique index: the lookup time tells nothing about the key. */
  async verify(key: string): Promise<{ principal: Principal; expiresAt: Date | null } | null> {
    if (!this.mayExist(key)) return null // no query for a random or forged key
    const [row] = await (this.#liveKey ??= liveKey(this.db)).execute({ keyHash: hashApiKey(key) })
    const now = Date.now()
    if (!row || row.user.disabled || (row.key.expirationDate && row.key.expirationDate.getTime() <= now)) return null
    // Only on a cache miss, and at most once a minute per key: a write per request would cost more
    // than the lookup it follows (with AUTH_CACHE_TTL=0, say).
    if (!row.key.lastUsedAt || now - row.key.lastUsedAt.getTime() >= LAST_USED_PRECISION_MS) {
      await this.db.update(apiKeys).set({ lastUsedAt: new Date(now) }).where(eq(apiKeys.keyId, row.key.keyId))
    }
    // h1's key scope narrows these rights here (principal.rights.within(row.key.blocks)): see keyRights in services/access-check.ts.
    return {
      principal: principalOf(row.user, parseGroupGrants(row.groups), 'api_key', row.key.keyId),
      expiresAt: row.key.expirationDate,
    }
  }
}
