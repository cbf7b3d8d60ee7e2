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
}

export type ServerSettings = Required<ServerConfig>

export type Env = Readonly<Record<string, string | undefined>>

export const serverDefaults: ServerSettings = { port: 3000, host: '127.0.0.1', logLevel: 'info', logFormat: 'auto', bodyLimit: 1024 * 1024 }

/** Precedence, highest first: `overrides` (code or CLI flags), the environment, the config file, the defaults. */
export function resolveServerSettings(config: ServerConfig = {}, env: Env = process.env, overrides: ServerConfig = {}): ServerSettings {
  const fromEnv: ServerConfig = {
    port: envInteger(env, 'PORT', 0, 65535),
    host: nonEmpty(env.HOST),
    logLevel: envLogLevel(env),
    logFormat: envLogFormat(env),
    bodyLimit: envInteger(env, 'MLBLOCKS_BODY_LIMIT', 1, 2 ** 31 - 1),
  }
  const settings = { ...serverDefaults }
  for (const layer of [config, fromEnv, overrides]) {
    for (const [key, value] of Object.entries(layer)) {
      if (value !== undefined) Object.assign(settings, { [key]: value })
    }
  }
  checkInteger('server.port', settings.port, 0, 65535)
  checkInteger('server.bodyLimit', settings.bodyLimit, 1, 2 ** 31 - 1)
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

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed === '' ? undefined : trimmed
}
