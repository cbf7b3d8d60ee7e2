import type { FastifyRequest, FastifyServerOptions } from 'fastify'
import type { LogFormat, LogLevel } from './settings.js'

const CENSOR = '[REDACTED]'

/** Header and body paths that never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  'password',
  '*.password',
  '*.*.password',
  'token',
  '*.token',
  'api_key',
  '*.api_key',
]

/** Keeps the query's parameter names but not their values: a credential pasted into a URL stays out of the log. */
export function redactQuery(url: string): string {
  const q = url.indexOf('?')
  if (q === -1) return url
  const names = url
    .slice(q + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => `${pair.split('=')[0]}=${CENSOR}`)
  return `${url.slice(0, q)}?${names.join('&')}`
}

/**
 * An error as it is logged: its type, message, code and stack, and its causes likewise — never a
 * failed query's parameters, which drizzle puts in its message (`params: …`) and the database
 * driver in its fields (`parameters`, `detail`): they may hold a password or key hash.
 */
export function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return err
  const e = err as Error & { code?: unknown; statusCode?: unknown; cause?: unknown }
  const message = e.message.replace(/\nparams: [\s\S]*$/, `\nparams: ${CENSOR}`)
  const stack = typeof e.stack === 'string' ? e.stack.replace(e.message, message) : undefined
  return {
    type: e.constructor?.name ?? e.name,
    message,
    ...(stack ? { stack } : {}),
    ...(typeof e.code === 'string' || typeof e.code === 'number' ? { code: e.code } : {}),
    ...(typeof e.statusCode === 'number' ? { statusCode: e.statusCode } : {}),
    ...(e.cause !== undefined && depth < 4 ? { cause: serializeError(e.cause, depth + 1) } : {}),
  }
}

export function loggerOptions(level: LogLevel, stream?: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    serializers: {
      err: (err: Error) => serializeError(err) as { type: string; message: string; stack: string },
      req: (req: FastifyRequest) => ({
        method: req.method,
        url: redactQuery(req.url),
        remoteAddress: req.ip,
      }),
    },
  }
}

/**
 * Where log lines go when the caller gave no stream: stdout, as JSON, or through pino-pretty when
 * the format is `pretty` (or `auto` on a terminal). pino-pretty is imported only then.
 */
export async function logDestination(format: LogFormat, stdout: NodeJS.WriteStream = process.stdout): Promise<NodeJS.WritableStream | undefined> {
  const pretty = format === 'pretty' || (format === 'auto' && stdout.isTTY === true)
  if (!pretty) return undefined
  const { default: pinoPretty } = await import('pino-pretty')
  // Synchronous, so that the last lines before an exit are not lost.
  return pinoPretty({ colorize: stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true, destination: 1 })
}
