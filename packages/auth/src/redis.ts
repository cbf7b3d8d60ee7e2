import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { withDeadline } from './db/errors.js'
import { AuthSettingError } from './settings.js'

const CONNECT_TIMEOUT_MS = 5000
/** A Redis that accepts connections but does not answer (stopped, overloaded) costs a login at most this per command. */
export const COMMAND_TIMEOUT_MS = 250

/** host:port of a Redis URL, for messages: never the password. */
const describe = (url: string) => {
  const u = new URL(url)
  return `${u.hostname}:${u.port || 6379}`
}

/** Connects to REDIS_URL (imported only when it is set); an unreachable Redis stops start-up with one line. */
export async function connectRedis(url: string, app: FastifyInstance): Promise<Redis> {
  const { Redis } = await import('ioredis')
  // Fail fast, never queue: while Redis is down a command errors at once (no offline queue, no
  // retries), and the limits fall back to this instance's memory; ioredis reconnects in the
  // background (retryStrategy: at most 2 s apart) and the shared limits come back with it.
  const redis = new Redis(url, {
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  })
  // Logged once per outage (the first error or lost connection), and once when it is back.
  let up = false
  let startedUp = false
  const lost = (reason: string) => {
    if (!up) return
    up = false
    app.log.warn({ redis: describe(url), reason }, 'auth: Redis is unreachable; login limits and request budgets count per instance until it is back')
  }
  redis.on('error', (err: Error) => lost(err.message))
  redis.on('close', () => lost('connection closed'))
  redis.on('ready', () => {
    if (up) return
    const after = startedUp
    up = true
    startedUp = true
    if (after) app.log.info({ redis: describe(url) }, 'auth: Redis is back; login limits and request budgets are shared again')
  })
  try {
    await withDeadline(CONNECT_TIMEOUT_MS, redis.connect().then(() => redis.ping()))
  } catch (err) {
    redis.disconnect()
    throw new AuthSettingError(
      `Cannot reach Redis at ${describe(url)} (${err instanceof Error ? err.message : String(err)}): check REDIS_URL, or unset it to count limits per instance`,
    )
  }
  return redis
}
