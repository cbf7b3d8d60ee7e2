import { createHash, randomBytes } from 'node:crypto'
import { and, desc, eq, isNull, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { apiKeys, users, type ApiKeyRow } from '../db/schema.js'
import { ApiKeyNotFound, UserNotFound } from '../errors.js'
import type { Principal } from './principal.js'

export const API_KEY_PREFIX = 'mlb_'
const PREFIX_SHOWN = 12 // `mlb_` and 8 characters: enough to tell keys apart, useless to guess one
/** `last_used_at` is kept to the minute. */
const LAST_USED_PRECISION_MS = 60_000
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** `mlb_` and 32 random bytes in base62 (43 characters). */
export function generateApiKey(): string {
  let n = BigInt(`0x${randomBytes(32).toString('hex')}`)
  let out = ''
  for (let i = 0; i < 43; i++) {
    out = BASE62[Number(n % 62n)]! + out
    n /= 62n
  }
  return API_KEY_PREFIX + out
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
    .select({ key: apiKeys, user: users })
    .from(apiKeys)
    .innerJoin(users, eq(users.userId, apiKeys.userId))
    .where(and(eq(apiKeys.keyHash, sql.placeholder('keyHash')), isNull(apiKeys.revokedAt)))
    .prepare('mlblocks_auth_live_key')

export class ApiKeys {
  constructor(private readonly db: Db) {}

  #liveKey: ReturnType<typeof liveKey> | undefined

  /** Issues a key for a user. The key itself is returned this once and only its hash is stored. */
  async issue(userId: string, expirationDate: Date | null): Promise<{ key: string; row: ApiKeyRow }> {
    const [user] = await this.db.select({ id: users.userId }).from(users).where(eq(users.userId, userId))
    if (!user) throw new UserNotFound(userId)
    const key = generateApiKey()
    const [row] = await this.db
      .insert(apiKeys)
      .values({ userId, keyHash: hashApiKey(key), prefix: key.slice(0, PREFIX_SHOWN), expirationDate })
      .returning()
    return { key, row: row! }
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
    if (!key.startsWith(API_KEY_PREFIX) || key.length !== API_KEY_PREFIX.length + 43) return null
    const [row] = await (this.#liveKey ??= liveKey(this.db)).execute({ keyHash: hashApiKey(key) })
    const now = Date.now()
    if (!row || row.user.disabled || (row.key.expirationDate && row.key.expirationDate.getTime() <= now)) return null
    // Only on a cache miss, and at most once a minute per key: a write per request would cost more
    // than the lookup it follows (with AUTH_CACHE_TTL=0, say).
    if (!row.key.lastUsedAt || now - row.key.lastUsedAt.getTime() >= LAST_USED_PRECISION_MS) {
      await this.db.update(apiKeys).set({ lastUsedAt: new Date(now) }).where(eq(apiKeys.keyId, row.key.keyId))
    }
    const { user } = row
    return {
      principal: { userId: user.userId, username: user.username, role: user.role, blocks: user.blocks, via: 'api_key', credentialId: row.key.keyId },
      expiresAt: row.key.expirationDate,
    }
  }
}
