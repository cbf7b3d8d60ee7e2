import { resolve } from 'node:path'

/** Options of the plugin (camelCase); each can also come from the environment, which wins. */
export interface AuthOptions {
  /** `AUTH_JWT_SECRET`: signs login tokens (HS256). At least 32 bytes. */
  jwtSecret?: string
  /** `AUTH_TOKEN_TTL`: how long a login token lives, e.g. `15m`, `1h`, `2d`. Default `1h`. */
  tokenTtl?: string
  /** `DATABASE_URL`: a Postgres URL. Unset: an embedded database under `dataDir`. */
  databaseUrl?: string
  /** `MLBLOCKS_DATA_DIR`: folder of the embedded database. Default `./.mlblocks`. */
  dataDir?: string
  /** `MLBLOCKS_ADMIN_USERNAME` and `MLBLOCKS_ADMIN_PASSWORD`: first admin, created when none exists. */
  adminUsername?: string
  adminPassword?: string
  /** `AUTH_CACHE_TTL`: how long a verified credential is trusted without the database. Default `5s`; `0` turns the cache off. */
  cacheTtl?: string
  /**
   * `AUTH_LOGIN_RATE_LIMIT`: failed logins per minute per client address (TRUST_PROXY decides what the
   * address is); past it that address waits for the minute to end. Default 30: a whole office behind
   * one NAT mistyping its passwords stays under it, while one account's back-off stays per username.
   */
  loginRateLimit?: number | string
  /** `AUTH_LOGIN_FREE_ATTEMPTS`: failed logins of one username before its back-off starts. Default 5. */
  loginFreeAttempts?: number | string
  /** `AUTH_LOGIN_MAX_BACKOFF`: the longest wait of all, per address and per username, in memory and in Redis. Default `15m`. */
  loginMaxBackoff?: string
  /** `AUTH_REQUEST_RATE_LIMIT`: block requests per minute per API key or user. Default 0: no budget. */
  requestRateLimit?: number | string
  /** `AUTH_AUDIT_RETENTION`: how long security events are kept. Default `90d`. */
  auditRetention?: string
  /** `AUTH_PUBLIC_BLOCKS`: blocks anyone may list and call without a credential (comma-separated in the environment). Default none. */
  publicBlocks?: string | readonly string[]
  /** `AUTH_ANONYMOUS_RATE_LIMIT`: predictions per minute per client address for callers without a credential. Default 30. */
  anonymousRateLimit?: number | string
  /** `REDIS_URL`: share login limits and request budgets between instances. Unset: each instance counts its own. */
  redisUrl?: string
  /** Environment to read; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>
}

export interface AuthSettings {
  jwtSecret: string
  tokenTtlMs: number
  database: { kind: 'postgres'; url: string } | { kind: 'embedded'; dir: string }
  admin: { username: string; password: string } | null
  cacheTtlMs: number
  loginRateLimit: number
  loginFreeAttempts: number
  loginMaxBackoffMs: number
  requestRateLimit: number
  auditRetentionMs: number
  redisUrl: string | null
  publicBlocks: string[]
  anonymousRateLimit: number
}

export const PASSWORD_MIN = 12
export const PASSWORD_MAX = 1024
export const USERNAME_PATTERN = '^[A-Za-z0-9._@-]{1,64}$'

const OFF = 'or set AUTH_ENABLED=false to turn auth off'

/** A start-up problem: one line naming the setting, the fix and the off switch. */
export class AuthSettingError extends Error {
  readonly code = 'MLB_AUTH_CONFIG'
  constructor(message: string) {
    super(`${message}, ${OFF}.`)
    this.name = 'AuthSettingError'
  }
}

/** `DATABASE_URL`, else the embedded database under `MLBLOCKS_DATA_DIR`: what the plugin and the CLI open. */
export function resolveDatabase(options: Pick<AuthOptions, 'databaseUrl' | 'dataDir' | 'env'> = {}): AuthSettings['database'] {
  const env = options.env ?? process.env
  const url = env.DATABASE_URL?.trim() || options.databaseUrl?.trim()
  if (url) return { kind: 'postgres', url: checkDatabaseUrl(url) }
  return { kind: 'embedded', dir: resolve(env.MLBLOCKS_DATA_DIR?.trim() || options.dataDir?.trim() || '.mlblocks') }
}

/** Validates every setting; throws an AuthSettingError for the first bad one. Never echoes a secret. */
export function resolveSettings(options: AuthOptions = {}): AuthSettings {
  const env = options.env ?? process.env
  const pick = (name: string, option: string | number | undefined): string | undefined => {
    const fromEnv = env[name]?.trim()
    return fromEnv ? fromEnv : option === undefined ? undefined : String(option).trim() || undefined
  }

  const jwtSecret = pick('AUTH_JWT_SECRET', options.jwtSecret)
  if (!jwtSecret || Buffer.byteLength(jwtSecret) < 32) {
    throw new AuthSettingError(
      'AUTH_JWT_SECRET is missing or shorter than 32 bytes: set it to a long random secret (e.g. `openssl rand -base64 48`)',
    )
  }

  if (isWeakSecret(jwtSecret)) {
    throw new AuthSettingError(
      'AUTH_JWT_SECRET is too easy to guess (it repeats a few characters or follows a pattern): set it to a long random secret (e.g. `openssl rand -base64 48`)',
    )
  }

  const tokenTtlMs = duration('AUTH_TOKEN_TTL', pick('AUTH_TOKEN_TTL', options.tokenTtl) ?? '1h', 60_000, 30 * 86_400_000)
  const cacheTtlMs = duration('AUTH_CACHE_TTL', pick('AUTH_CACHE_TTL', options.cacheTtl) ?? '5s', 0, 3_600_000)

  const database = resolveDatabase(options)

  const username = pick('MLBLOCKS_ADMIN_USERNAME', options.adminUsername)
  const password = env.MLBLOCKS_ADMIN_PASSWORD || options.adminPassword // passwords are not trimmed
  let admin: AuthSettings['admin'] = null
  if (username || password) {
    if (!username || !password) {
      throw new AuthSettingError('MLBLOCKS_ADMIN_USERNAME and MLBLOCKS_ADMIN_PASSWORD go together: set both to create the first admin, or neither')
    }
    if (!new RegExp(USERNAME_PATTERN).test(username)) {
      throw new AuthSettingError('MLBLOCKS_ADMIN_USERNAME must be 1-64 letters, digits or . _ @ -: fix it')
    }
    if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
      throw new AuthSettingError(`MLBLOCKS_ADMIN_PASSWORD must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters: set a longer one`)
    }
    admin = { username, password }
  }

  const count = (name: string, raw: string, min: number, what: string): number => {
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > 100_000) {
      throw new AuthSettingError(`${name} must be a whole number of ${what} (${min}-100000); got '${raw}': fix it`)
    }
    return Number(raw)
  }
  return {
    jwtSecret,
    tokenTtlMs,
    database,
    admin,
    cacheTtlMs,
    loginRateLimit: count('AUTH_LOGIN_RATE_LIMIT', pick('AUTH_LOGIN_RATE_LIMIT', options.loginRateLimit) ?? '30', 1, 'failed logins per minute'),
    loginFreeAttempts: count('AUTH_LOGIN_FREE_ATTEMPTS', pick('AUTH_LOGIN_FREE_ATTEMPTS', options.loginFreeAttempts) ?? '5', 1, 'failed logins'),
    loginMaxBackoffMs: duration('AUTH_LOGIN_MAX_BACKOFF', pick('AUTH_LOGIN_MAX_BACKOFF', options.loginMaxBackoff) ?? '15m', 1000, 86_400_000),
    requestRateLimit: count('AUTH_REQUEST_RATE_LIMIT', pick('AUTH_REQUEST_RATE_LIMIT', options.requestRateLimit) ?? '0', 0, 'requests per minute'),
    auditRetentionMs: duration('AUTH_AUDIT_RETENTION', pick('AUTH_AUDIT_RETENTION', options.auditRetention) ?? '90d', 3_600_000, 3650 * 86_400_000),
    redisUrl: checkRedisUrl(pick('REDIS_URL', options.redisUrl)),
    publicBlocks: publicBlocks(pick('AUTH_PUBLIC_BLOCKS', Array.isArray(options.publicBlocks) ? options.publicBlocks.join(',') : (options.publicBlocks as string | undefined))),
    anonymousRateLimit: count('AUTH_ANONYMOUS_RATE_LIMIT', pick('AUTH_ANONYMOUS_RATE_LIMIT', options.anonymousRateLimit) ?? '30', 1, 'predictions per minute'),
  }
}

/**
 * True for a secret that is long enough but obviously not random: fewer than 10 distinct
 * characters (`aaaa…`, `abab…`), a short run repeated (`0123456789` four times), or under 96 bits
 * by its character frequencies (Shannon entropy times length; `openssl rand -base64 48` gives
 * about 310, `openssl rand -hex 16` about 115).
 */
export function isWeakSecret(secret: string): boolean {
  const chars = [...secret]
  for (let period = 1; period <= chars.length / 2; period++) {
    if (chars.every((c, i) => i < period || c === chars[i - period])) return true
  }
  const counts = new Map<string, number>()
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1)
  if (counts.size < 10) return true
  let bits = 0
  for (const n of counts.values()) bits -= n * Math.log2(n / chars.length)
  return bits < 96
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `90s`, `15m`, `1h`, `2d`, or a bare number of seconds. */
export function duration(name: string, raw: string, minMs: number, maxMs: number): number {
  const match = /^(\d+)\s*(ms|s|m|h|d)?$/.exec(raw)
  const ms = match ? Number(match[1]) * UNITS[match[2] ?? 's']! : Number.NaN
  if (!(ms >= minMs && ms <= maxMs)) {
    throw new AuthSettingError(`${name} must be a duration like 30s, 15m, 1h or 2d, from ${minMs / 1000}s to ${maxMs / 1000}s; got '${raw}': fix it`)
  }
  return ms
}

const BLOCK_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/

/** `a,b`: block names (that each is a block of this server is checked once the blocks are known). */
function publicBlocks(raw: string | undefined): string[] {
  if (!raw) return []
  const names = raw.split(',').map((name) => name.trim())
  const bad = names.find((name) => !BLOCK_NAME.test(name))
  if (bad !== undefined) {
    throw new AuthSettingError(`AUTH_PUBLIC_BLOCKS must be block names separated by commas (no \`*\`: name each public block); got '${bad.slice(0, 64)}': fix it, or unset it to keep every block private`)
  }
  return [...new Set(names)]
}

function checkRedisUrl(url: string | undefined): string | null {
  if (!url) return null
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    // reported below
  }
  if (parsed?.protocol !== 'redis:' && parsed?.protocol !== 'rediss:') {
    throw new AuthSettingError('REDIS_URL must be a redis:// or rediss:// URL: fix it, or unset it to count limits per instance')
  }
  return url
}

function checkDatabaseUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new AuthSettingError('DATABASE_URL is not a valid URL: set it to postgres://user:password@host:5432/database, or unset it to use the embedded database')
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new AuthSettingError(
      `DATABASE_URL must be a postgres:// URL, not ${parsed.protocol}//: fix it, or unset it to use the embedded database`,
    )
  }
  return url
}

/** host:port/database of a Postgres URL, for messages: never the password. */
export function describeDatabase(settings: AuthSettings['database']): string {
  if (settings.kind === 'embedded') return `the embedded database in ${settings.dir}`
  const u = new URL(settings.url)
  return `${u.hostname}:${u.port || 5432}${u.pathname}`
}
