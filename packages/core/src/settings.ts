import { isIP } from 'node:net'
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

export const serverDefaults: ServerSettings = { port: 3000, host: '127.0.0.1', logLevel: 'info', logFormat: 'auto', bodyLimit: 1024 * 1024, trustProxy: false, metrics: true }

/** Precedence, highest first: `overrides` (code or CLI flags), the environment, the config file, the defaults. */
export function resolveServerSettings(config: ServerConfig = {}, env: Env = process.env, overrides: ServerConfig = {}): ServerSettings {
  const fromEnv: ServerConfig = {
    port: envInteger(env, 'PORT', 0, 65535),
    host: nonEmpty(env.HOST),
    logLevel: envLogLevel(env),
    logFormat: envLogFormat(env),
    bodyLimit: envInteger(env, 'MLBLOCKS_BODY_LIMIT', 1, 2 ** 31 - 1),
    trustProxy: nonEmpty(env.TRUST_PROXY),
    metrics: envBoolean(env, 'MLBLOCKS_METRICS_ENABLED'),
  }
  const settings = { ...serverDefaults }
  let trustProxy: ServerConfig['trustProxy'] = false
  let trustProxyName = 'server.trustProxy'
  for (const layer of [config, fromEnv, overrides]) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue
      if (key === 'trustProxy') {
        trustProxy = value as ServerConfig['trustProxy']
        trustProxyName = layer === fromEnv ? 'TRUST_PROXY' : 'server.trustProxy'
      } else Object.assign(settings, { [key]: value })
    }
  }
  settings.trustProxy = parseTrustProxy(trustProxyName, trustProxy)
  checkInteger('server.port', settings.port, 0, 65535)
  checkInteger('server.bodyLimit', settings.bodyLimit, 1, 2 ** 31 - 1)
  if (typeof settings.metrics !== 'boolean') throw new ConfigError(`server.metrics must be true or false; got '${String(settings.metrics)}'.`)
  if (!LOG_LEVELS.includes(settings.logLevel)) {
    throw new ConfigError(`server.logLevel must be one of ${LOG_LEVELS.join(', ')}; got '${String(settings.logLevel)}'.`)
  }
  if (!LOG_FORMATS.includes(settings.logFormat)) {
    throw new ConfigError(`server.logFormat must be one of ${LOG_FORMATS.join(', ')}; got '${String(settings.logFormat)}'.`)
  }
  return settings
}

/** `true`/`1` → true, `false`/`0` → false, unset or empty → undefined; anything else stops start-up. */
export function envBoolean(env: Env, name: string): boolean | undefined {
  const raw = nonEmpty(env[name])?.toLowerCase()
  if (raw === undefined) return undefined
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  throw new ConfigError(`${name} must be true, false, 1 or 0; got '${env[name]}'.`)
}

function envInteger(env: Env, name: string, min: number, max: number): number | undefined {
  const raw = nonEmpty(env[name])
  if (raw === undefined) return undefined
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN
  checkInteger(name, value, min, max, raw)
  return value
}

function envLogLevel(env: Env): LogLevel | undefined {
  const raw = nonEmpty(env.LOG_LEVEL)?.toLowerCase()
  if (raw === undefined) return undefined
  if (!LOG_LEVELS.includes(raw as LogLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got '${env.LOG_LEVEL}'.`)
  }
  return raw as LogLevel
}

function envLogFormat(env: Env): LogFormat | undefined {
  const raw = nonEmpty(env.LOG_FORMAT)?.toLowerCase()
  if (raw === undefined) return undefined
  if (!LOG_FORMATS.includes(raw as LogFormat)) {
    throw new ConfigError(`LOG_FORMAT must be json, pretty or auto (readable on a terminal, JSON otherwise); got '${env.LOG_FORMAT}'.`)
  }
  return raw as LogFormat
}

function checkInteger(name: string, value: number, min: number, max: number, shown: unknown = value): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}; got '${String(shown)}'.`)
  }
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
