import { resolve } from 'node:path'
import { readSettings, Setting, SettingError, type SettingsOf } from '@mlblocks/core'

/** Every declared setting can be given as an option of its key (the environment wins). */
type DeclaredOptions = { [K in keyof typeof authSettingsDeclaration]?: string | number | boolean | readonly string[] }

/** Options of the plugin (camelCase); each can also come from the environment, which wins. */
export interface AuthOptions extends DeclaredOptions {
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
  /** `AUTH_MAX_KEY_TTL`: the latest expiry a self-service key may have, from its creation (`90d`). Unset: no limit. */
  maxKeyTtl?: string
  /** `AUTH_SELF_SERVICE_KEYS`: whether users manage their own keys at /me/apikeys. Default true; `false` turns it off (403). */
  selfServiceKeys?: boolean | string
  /** Environment to read; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>
}

/** Declared settings that `resolveSettings` maps by hand (units, checks across settings); any other declared one is passed as read. */
type Mapped = 'jwtSecret' | 'tokenTtl' | 'databaseUrl' | 'dataDir' | 'adminUsername' | 'adminPassword' | 'cacheTtl' | 'loginMaxBackoff' | 'auditRetention' | 'redisUrl' | 'maxKeyTtl' | 'publicBlocks'

/** A setting added to `authSettingsDeclaration` arrives here under its key, with no other change. */
export type AuthSettings = AuthSettingsMapped & Omit<SettingsOf<typeof authSettingsDeclaration>, Mapped>

export interface AuthSettingsMapped {
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
  /** Null: self-service keys may have any expiry (or none). */
  maxKeyTtlMs: number | null
  selfServiceKeys: boolean
  /** AUTH_PUBLIC_BLOCKS: the blocks anonymous callers may list and call. */
  publicBlocks: string[]
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

/**
 * Auth's settings, declared once: each is read from the environment, else the plugin's option of
 * the same key, else its default; the README's Options table is generated from this. One entry per
 * setting (checks that span settings, and the secret's strength, follow in `resolveSettings`).
 */
export const authSettingsDeclaration = {
  jwtSecret: Setting.text({ env: 'AUTH_JWT_SECRET', option: 'jwtSecret', secret: true, shownDefault: 'required', doc: 'Signs login tokens (HS256): 32 bytes or more, random (`openssl rand -base64 48`).' }),
  tokenTtl: Setting.duration({ env: 'AUTH_TOKEN_TTL', option: 'tokenTtl', default: '1h', minimum: '1m', maximum: '30d', doc: 'How long a login token lives, e.g. `15m`, `3600s`, `2d`.' }),
  databaseUrl: Setting.text({ env: 'DATABASE_URL', option: 'databaseUrl', shownDefault: 'unset: the embedded database', doc: 'A Postgres URL, e.g. `postgres://mlb:…@db:5432/mlblocks`.' }),
  dataDir: Setting.text({ env: 'MLBLOCKS_DATA_DIR', option: 'dataDir', default: '.mlblocks', shownDefault: '`./.mlblocks` (from the working directory)', doc: 'The folder of the embedded database.' }),
  adminUsername: Setting.text({ env: 'MLBLOCKS_ADMIN_USERNAME', option: 'adminUsername', shownDefault: 'none', doc: 'With the password: the first admin, created at start-up when no admin exists.' }),
  adminPassword: Setting.text({ env: 'MLBLOCKS_ADMIN_PASSWORD', option: 'adminPassword', secret: true, raw: true, shownDefault: 'none', doc: `The first admin's password, ${PASSWORD_MIN} characters or more.` }),
  cacheTtl: Setting.duration({ env: 'AUTH_CACHE_TTL', option: 'cacheTtl', default: '5s', minimum: '0', maximum: '1h', doc: 'How long a verified credential is trusted without the database; `0` turns the cache off.' }),
  loginRateLimit: Setting.integer({ env: 'AUTH_LOGIN_RATE_LIMIT', option: 'loginRateLimit', default: 30, minimum: 1, maximum: 100_000, unit: 'failed logins per minute', doc: 'Failed logins a minute per client address.' }),
  loginFreeAttempts: Setting.integer({ env: 'AUTH_LOGIN_FREE_ATTEMPTS', option: 'loginFreeAttempts', default: 5, minimum: 1, maximum: 100_000, unit: 'failed logins', doc: "Failed logins of one username before its back-off starts." }),
  loginMaxBackoff: Setting.duration({ env: 'AUTH_LOGIN_MAX_BACKOFF', option: 'loginMaxBackoff', default: '15m', minimum: '1s', maximum: '1d', doc: 'The longest wait of all, per address and per username.' }),
  requestRateLimit: Setting.integer({ env: 'AUTH_REQUEST_RATE_LIMIT', option: 'requestRateLimit', default: 0, minimum: 0, maximum: 100_000, unit: 'requests per minute', shownDefault: '0 (no budget)', doc: 'Block requests a minute per API key or user.' }),
  auditRetention: Setting.duration({ env: 'AUTH_AUDIT_RETENTION', option: 'auditRetention', default: '90d', minimum: '1h', maximum: '3650d', doc: 'How long security events are kept.' }),
  redisUrl: Setting.text({ env: 'REDIS_URL', option: 'redisUrl', shownDefault: 'unset: each instance counts its own limits', doc: 'Shares login limits and request budgets between instances, e.g. `redis://cache:6379`.' }),
  maxKeyTtl: Setting.duration({
    env: 'AUTH_MAX_KEY_TTL',
    option: 'maxKeyTtl',
    default: '0',
    minimum: '0',
    maximum: '3650d',
    shownDefault: 'unset: no limit',
    doc: 'The latest expiry a self-service key may have, counted from its creation (e.g. `90d`); a key asked for without a date gets it. `0`: no limit.',
  }),
  selfServiceKeys: Setting.flag({
    env: 'AUTH_SELF_SERVICE_KEYS',
    option: 'selfServiceKeys',
    default: true,
    problem: 'true or false (or 1, 0)',
    doc: 'Whether users manage their own keys at `/me/apikeys`; `false` answers 403 there.',
  }),
  publicBlocks: Setting.text({
    env: 'AUTH_PUBLIC_BLOCKS',
    option: 'publicBlocks',
    shownDefault: 'unset: every block private',
    doc: 'Blocks anonymous callers may list and call (comma-separated names), each client address limited to `AUTH_ANONYMOUS_RATE_LIMIT` predictions a minute.',
  }),
  anonymousRateLimit: Setting.integer({
    env: 'AUTH_ANONYMOUS_RATE_LIMIT',
    option: 'anonymousRateLimit',
    default: 30,
    minimum: 1,
    maximum: 100_000,
    unit: 'predictions per minute',
    doc: 'Predictions a minute per client address on the public blocks, without a credential.',
  }),
  console: Setting.flag({ env: 'AUTH_CONSOLE_ENABLED', option: 'console', default: true, doc: 'Serve the web console at `/console/`; `false` serves none of its files.' }),
}

/** Reads the declared settings (environment first, then `options`); a bad one is an AuthSettingError. */
function read<K extends keyof typeof authSettingsDeclaration>(options: AuthOptions, keys: readonly K[]): SettingsOf<Pick<typeof authSettingsDeclaration, K>> {
  const declaration = Object.fromEntries(keys.map((k) => [k, authSettingsDeclaration[k]])) as Pick<typeof authSettingsDeclaration, K>
  try {
    return readSettings(declaration, options.env ?? process.env, { config: options })
  } catch (err) {
    throw err instanceof SettingError ? new AuthSettingError(`${err.message}: fix it`) : err
  }
}

/** `DATABASE_URL`, else the embedded database under `MLBLOCKS_DATA_DIR`: what the plugin and the CLI open. */
export function resolveDatabase(options: Pick<AuthOptions, 'databaseUrl' | 'dataDir' | 'env'> = {}): AuthSettings['database'] {
  const { databaseUrl, dataDir } = read(options, ['databaseUrl', 'dataDir'])
  if (databaseUrl) return { kind: 'postgres', url: checkDatabaseUrl(databaseUrl) }
  return { kind: 'embedded', dir: resolve(dataDir) }
}

/** Validates every setting; throws an AuthSettingError for the first bad one. Never echoes a secret. */
export function resolveSettings(options: AuthOptions = {}): AuthSettings {
  const all = read(options, Object.keys(authSettingsDeclaration) as (keyof typeof authSettingsDeclaration)[])
  const { jwtSecret, adminUsername: username, adminPassword: password, tokenTtl, cacheTtl, loginMaxBackoff, auditRetention, redisUrl, maxKeyTtl, publicBlocks: publicBlockNames, databaseUrl: _url, dataDir: _dir, ...rest } = all
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

  const database = resolveDatabase(options)

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

  return {
    ...rest,
    jwtSecret,
    tokenTtlMs: tokenTtl,
    database,
    admin,
    cacheTtlMs: cacheTtl,
    loginMaxBackoffMs: loginMaxBackoff,
    auditRetentionMs: auditRetention,
    redisUrl: checkRedisUrl(redisUrl ?? undefined),
    maxKeyTtlMs: maxKeyTtl === 0 ? null : maxKeyTtl,
    publicBlocks: publicBlocks(publicBlockNames ?? undefined),
  }
}

/** `true`/`false`/`1`/`0`, as AUTH_ENABLED reads them. */
function flag(name: string, raw: string): boolean {
  if (/^(true|1)$/i.test(raw)) return true
  if (/^(false|0)$/i.test(raw)) return false
  throw new AuthSettingError(`${name} must be true or false (or 1 or 0); got '${raw.slice(0, 20)}': fix it`)
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
