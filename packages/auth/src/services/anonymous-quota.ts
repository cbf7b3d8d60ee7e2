import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { Anonymous } from '../hooks/authenticate.js'

const PREFIX = 'mlblocks:auth:anonymous'

/**
 * AUTH_ANONYMOUS_RATE_LIMIT: predictions per minute per client address for callers without a
 * credential, on the public blocks. With REDIS_URL the count is shared by every instance; while
 * Redis is unreachable each instance counts in its own memory (never unlimited, never a 5xx).
 */
export function createAnonymousQuota(publicBlocks: readonly string[], perMinute: number, redis: Redis | null): Anonymous {
  const memory = new RateLimiterMemory({ keyPrefix: PREFIX, points: perMinute, duration: 60 })
  const limiter: RateLimiterAbstract = redis
    ? new RateLimiterRedis({ storeClient: redis, keyPrefix: PREFIX, points: perMinute, duration: 60, rejectIfRedisNotReady: true, insuranceLimiter: memory })
    : memory
  return {
    publicBlocks: new Set(publicBlocks),
    perMinute,
    async take(address) {
      try {
        await limiter.consume(address, 1)
        return 0
      } catch (err) {
        if (err instanceof RateLimiterRes) return Math.max(1, Math.ceil(err.msBeforeNext / 1000))
        throw err
      }
    },
  }
}
