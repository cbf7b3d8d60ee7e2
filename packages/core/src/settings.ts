import { isIP } from 'node:net'
import { Type } from '@sinclair/typebox'
import { readSettings, Setting, SettingError } from './define-settings.js'
import { ConfigError } from './errors.js'

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
/** `pretty`: one readable line per entry (pino-pretty); `json`: one JSON object per line; `auto`: pretty on a terminal. */
export type LogFormat = 'auto' | 'json' | 'pretty'
const LOG_FORMATS: readonly LogFormat[] = ['auto', 'json', 'pretty']
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** The `server` part of `mlblocks.config.ts`; every field can also come from the environment. */
export interface ServerConfig {
  /** `PORT`; default 3000. */
  port?: number
  /** `HOST`; default 127.0.0.1 (loopback only: set 0.0.0.0 to serve other machines). */
  host?: string
  /** `LOG_LEVEL`; default info. */
  logLevel?: LogLevel
  /** `LOG_FORMAT`; default auto: readable when stdout is a terminal, JSON otherwise. */
  logFormat?: LogFormat
  /** `MLBLOCKS_BODY_LIMIT`, in bytes; default 1 MiB. */
  bodyLimit?: number
  /**
   * `TRUST_PROXY`: the proxies in front, whose `X-Forwarded-For` is believed. Unset (`false`): never
   * believed. Addresses or CIDRs (comma-separated, or an array; also proxy-addr's `loopback`,
   * `linklocal`, `uniquelocal`), or a hop count.
   */
  trustProxy?: false | number | string | readonly string[]
  /** `MLBLOCKS_METRICS_ENABLED`: serve `GET /metrics` and count per block; default true. */
  metrics?: boolean
}

export interface ServerSettings extends Required<Omit<ServerConfig, 'trustProxy'>> {
  /** What Fastify's `trustProxy` gets: false, a hop count, or a list of addresses/CIDRs. */
  trustProxy: false | number | string[]
}

export type Env = Readonly<Record<string, string | undefined>>


/**
 * Core's settings, declared once: read by `resolveServerSettings`, and the README's settings table
 * is generated from this (`node scripts/settings-tables.mjs`). One entry per setting.
 */
export const serverSettingsDeclaration = {
  port: Setting.integer({ env: 'PORT', option: 'server.port', configName: 'server.port', default: 3000, minimum: 0, maximum: 65535, doc: 'The port to listen on (or `--port`).' }),
  host: Setting.text({
    env: 'HOST',
    option: 'server.host',
    configName: 'server.host',
    default: '127.0.0.1',
    shownDefault: '127.0.0.1 (loopback; use 0.0.0.0 to serve other machines)',
    doc: 'The address to listen on (or `--host`).',
  }),
  logLevel: Setting.oneOf(LOG_LEVELS, { env: 'LOG_LEVEL', option: 'server.logLevel', configName: 'server.logLevel', default: 'info', lowercase: true, doc: 'The least severe log entries written.' }),
  logFormat: Setting.oneOf(LOG_FORMATS, {
    env: 'LOG_FORMAT',
    option: 'server.logFormat',
    configName: 'server.logFormat',
    default: 'auto',
    lowercase: true,
    problem: 'json, pretty or auto (readable on a terminal, JSON otherwise)',
    shownDefault: 'auto: readable (pino-pretty) when stdout is a terminal, JSON otherwise',
    doc: 'How log lines are written: one JSON object per line, or readable lines (pino-pretty).',
  }),
  bodyLimit: Setting.integer({ env: 'MLBLOCKS_BODY_LIMIT', option: 'server.bodyLimit', configName: 'server.bodyLimit', default: 1024 * 1024, minimum: 1, maximum: 2 ** 31 - 1, doc: 'The largest request body, in bytes.' }),
  trustProxy: Setting.custom<ServerSettings['trustProxy']>(Type.Union([Type.Literal(false), Type.Integer(), Type.Array(Type.String())]), {
    env: 'TRUST_PROXY',
    option: 'server.trustProxy',
    configName: 'server.trustProxy',
    default: false,
    shownDefault: 'unset: X-Forwarded-For is never believed',
    doc: 'The proxies in front whose X-Forwarded-For is believed: addresses/CIDRs, comma-separated, or a hop count (see docs/deployment.md).',
    parse: (value, name) => ({ value: parseTrustProxy(name, value as ServerConfig['trustProxy']) }),
  }),
  metrics: Setting.flag({
    env: 'MLBLOCKS_METRICS_ENABLED',
    option: 'server.metrics',
    configName: 'server.metrics',
    default: true,
    doc: 'Serve `GET /metrics` (Prometheus text; admins only with auth on) and count per block; `false` counts nothing.',
  }),
}

/** Every default, as declared. */
export const serverDefaults: ServerSettings = readSettings(serverSettingsDeclaration, {})

/** Precedence, highest first: `overrides` (code or CLI flags), the environment, the config file, the defaults. */
export function resolveServerSettings(config: ServerConfig = {}, env: Env = process.env, overrides: ServerConfig = {}): ServerSettings {
  try {
    return readSettings(serverSettingsDeclaration, env, { config, overrides })
  } catch (err) {
    if (err instanceof SettingError) throw new ConfigError(`${err.message}.`)
    throw err
  }
}

/** `true`/`1` → true, `false`/`0` → false, unset or empty → undefined; anything else stops start-up. */
export function envBoolean(env: Env, name: string): boolean | undefined {
  const raw = nonEmpty(env[name])?.toLowerCase()
  if (raw === undefined) return undefined
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  throw new ConfigError(`${name} must be true, false, 1 or 0; got '${env[name]}'.`)
}





/** proxy-addr's names for address ranges, which Fastify's `trustProxy` also accepts. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/**
 * `10.0.0.1, 10.0.0.0/8, loopback` → a list; `2` → a hop count; `false`/unset → false. Never `true`
 * (believing every client's X-Forwarded-For is exactly what this setting is there to avoid).
 */
export function parseTrustProxy(name: string, value: ServerConfig['trustProxy']): false | number | string[] {
  if (value === false || value === undefined) return false
  const fix = `: set it to the comma-separated addresses or CIDRs of the proxies in front (e.g. 10.0.0.5,10.1.0.0/16) or to a hop count (e.g. 1), or unset it to ignore X-Forwarded-For`
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > 100) throw new ConfigError(`${name} must be a hop count from 1 to 100; got '${value}'${fix}.`)
    return value
  }
  const raw = typeof value === 'string' ? value.trim() : ''
  if (typeof value === 'string' && /^\d+$/.test(raw)) return parseTrustProxy(name, Number(raw))
  const entries = (typeof value === 'string' ? raw.split(',') : Array.isArray(value) ? [...value] : [String(value)]).map((e) => String(e).trim())
  for (const entry of entries) {
    if (!isProxyAddress(entry)) throw new ConfigError(`${name} has '${entry}', which is not an address, a CIDR or a hop count${fix}.`)
  }
  return entries
}

function isProxyAddress(entry: string): boolean {
  if (RANGE_NAMES.has(entry)) return true
  const [address, bits, ...rest] = entry.split('/')
  const family = isIP(address ?? '')
  if (family === 0 || rest.length > 0) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed === '' ? undefined : trimmed
}
