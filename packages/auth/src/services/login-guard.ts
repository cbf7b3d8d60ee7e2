/** Failed logins of one username, and how long it must wait before the next attempt. */
interface Record {
  failures: number
  blockedUntil: number
  lastFailure: number
}

export interface LoginGuardSettings {
  /** Failed attempts allowed before back-off starts. */
  freeAttempts: number
  /** First wait; it doubles with each further failure. */
  baseDelayMs: number
  maxDelayMs: number
  /** Failures older than this are forgotten. */
  forgetAfterMs: number
}

const MAX_TRACKED = 100_000

/**
 * Per-username brute-force protection with growing back-off: after `freeAttempts` failures, each
 * further failure doubles the wait (1 s, 2 s, 4 s… up to `maxDelayMs`) before that username may try
 * again, from any address. Unknown usernames are tracked the same way, so the answer tells nothing.
 */
export class LoginGuard {
  readonly #records = new Map<string, Record>()

  constructor(private readonly settings: LoginGuardSettings) {}

  /** Milliseconds this username must still wait; 0 when it may try now. */
  waitFor(username: string, now = Date.now()): number {
    const record = this.#records.get(username)
    if (!record) return 0
    if (now - record.lastFailure > this.settings.forgetAfterMs) {
      this.#records.delete(username)
      return 0
    }
    return Math.max(0, record.blockedUntil - now)
  }

  failed(username: string, now = Date.now()): void {
    const { freeAttempts, baseDelayMs, maxDelayMs } = this.settings
    const record = this.#records.get(username) ?? { failures: 0, blockedUntil: 0, lastFailure: now }
    record.failures += 1
    record.lastFailure = now
    const beyond = record.failures - freeAttempts
    if (beyond > 0) record.blockedUntil = now + Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(beyond - 1, 30))
    this.#records.delete(username) // re-insert: the map stays in least-recently-failed order
    this.#records.set(username, record)
    if (this.#records.size > MAX_TRACKED) this.#records.delete(this.#records.keys().next().value!)
  }

  succeeded(username: string): void {
    this.#records.delete(username)
  }
}

/** What the login route asks: the local LoginGuard, or the same rule kept in Redis for every instance. */
export interface LoginThrottle {
  waitFor(username: string): Promise<number>
  failed(username: string): Promise<void>
  succeeded(username: string): Promise<void>
}

export function localThrottle(guard: LoginGuard): LoginThrottle {
  return {
    waitFor: async (username) => guard.waitFor(username),
    failed: async (username) => guard.failed(username),
    succeeded: async (username) => guard.succeeded(username),
  }
}

/** The small part of an ioredis client this needs. */
export interface RedisLike {
  eval(script: string, keys: number, ...args: Array<string | number>): Promise<unknown>
  hget(key: string, field: string): Promise<string | null>
  del(key: string): Promise<number>
}

/** One failure, atomically: count it, set the back-off once past the free attempts, forget later. */
const FAILED = `
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local beyond = failures - tonumber(ARGV[1])
if beyond > 0 then
  local delay = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ math.min(beyond - 1, 30))
  redis.call('HSET', KEYS[1], 'until', tonumber(ARGV[4]) + delay)
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return failures`

/** LoginGuard's rule with its counters in Redis, shared by every instance. */
export function redisThrottle(redis: RedisLike, settings: LoginGuardSettings, prefix = 'mlblocks:auth:login:'): LoginThrottle {
  const key = (username: string) => prefix + username
  return {
    async waitFor(username) {
      const until = Number(await redis.hget(key(username), 'until'))
      return Number.isFinite(until) ? Math.max(0, until - Date.now()) : 0
    },
    async failed(username) {
      const { freeAttempts, baseDelayMs, maxDelayMs, forgetAfterMs } = settings
      await redis.eval(FAILED, 1, key(username), freeAttempts, baseDelayMs, maxDelayMs, Date.now(), forgetAfterMs)
    },
    async succeeded(username) {
      await redis.del(key(username))
    },
  }
}
