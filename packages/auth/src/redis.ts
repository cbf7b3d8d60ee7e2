import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { withDeadline } from './services/db-errors.js'
import { AuthSettingError } from './settings.js'

const CONNECT_TIMEOUT_MS = 5000

/** host:port of a Redis URL, for messages: never the password. */
const describe = (url: string) => {
  const u = new URL(url)
  return `${u.hostname}:${u.port || 6379}`
}

/** Connects to REDIS_URL (imported only when it is set); an unreachable Redis stops start-up with one line. */
export async function connectRedis(url: string, app: FastifyInstance): Promise<Redis> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(url, { connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: true })
  redis.on('error', (err: Error) => app.log.warn({ err: { message: err.message } }, 'auth: redis error'))
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
