import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'

export interface LoginLimitSettings {
  /** Failed logins one client address may make per window before it waits (AUTH_LOGIN_RATE_LIMIT). */
  addressFailures: number
  /** Failed logins of one username before its back-off starts (AUTH_LOGIN_FREE_ATTEMPTS). */
  freeAttempts: number
  /** The longest wait of all: per address and per username (AUTH_LOGIN_MAX_BACKOFF). */
  maxBackoffMs: number
}

/** What a reserved attempt turned into: only `failed` keeps its place in the counts. */
export type Outcome = 'failed' | 'succeeded' | 'not-checked'

export type Reservation =
  | { ok: true; settle(outcome: Outcome): Promise<void> }
  | { ok: false; retryAfterMs: number; scope: 'address' | 'username' }

/**
 * The login limits, behind one small interface. An attempt is reserved BEFORE the password is
 * checked (so concurrent guesses cannot all reach argon2) and settled after: a failure keeps its
 * place, anything else gives it back.
 */
export interface LoginLimits {
  reserve(address: string, username: string): Promise<Reservation>
  /** Lifts a username's back-off at once (admin endpoint, CLI, or another instance's notice). */
  unlock(username: string): Promise<void>
}

/** The first wait once a username's free attempts are spent; it doubles with each further failure. */
export const BASE_DELAY_S = 1
const PREFIX = 'mlblocks:auth:login'

/** Username keys ignore case: `Admin` and `admin` share one back-off, whatever the lookup does. */
const userKey = (username: string) => username.toLowerCase()

/** The Redis keys that hold a username's back-off (for `mlblocks-auth unlock` with REDIS_URL). */
export const lockoutKeys = (username: string) => [`${PREFIX}:user:${userKey(username)}`, `${PREFIX}:wait:${userKey(username)}`]

/**
 * Built on rate-limiter-flexible (atomic consume in memory or in Redis, with a memory
 * `insuranceLimiter` that takes over while Redis is unreachable), in place of the hand-written
 * LoginGuard and its Lua twin.
 *
 * - Per address: at most `addressFailures` failed logins per window of one minute (or of the cap,
 *   if shorter); past it the address waits for the window to end.
 * - Per username: a failure counter (forgotten an hour, or four caps, after the first failure) and
 *   a "wait" gate. Attempt n within the free attempts goes through; attempt n beyond them goes
 *   through only if the gate is open, and closes it for min(base·2^(n-free-1), cap). The gate is a
 *   one-point limiter whose window is that wait, so of concurrent attempts exactly one gets in.
 */
export function createLoginLimits(settings: LoginLimitSettings, redis: Redis | null): LoginLimits {
  const capS = Math.max(1, Math.floor(settings.maxBackoffMs / 1000))
  const local = new Map<string, RateLimiterMemory>()
  const make = (keyPrefix: string, points: number, duration: number): RateLimiterAbstract => {
    const memory = new RateLimiterMemory({ keyPrefix, points, duration })
    local.set(keyPrefix, memory)
    if (!redis) return memory
    // rejectIfRedisNotReady: while ioredis reconnects, go to the memory limiter at once (no stall).
    return new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration, rejectIfRedisNotReady: true, insuranceLimiter: memory })
  }
  const address = make(`${PREFIX}:address`, settings.addressFailures, Math.min(60, capS))
  const failures = make(`${PREFIX}:user`, 1_000_000, Math.max(3600, 4 * capS))
  const gate = make(`${PREFIX}:wait`, 1, capS)

  const waitAfter = (n: number) => Math.min(BASE_DELAY_S * 2 ** Math.min(n - settings.freeAttempts - 1, 30), capS)
  const refusedRes = (err: unknown): RateLimiterRes | null => (err instanceof RateLimiterRes ? err : null)
  const giveBack = (limiter: RateLimiterAbstract, key: string) => limiter.reward(key, 1).then(() => undefined)

  return {
    async reserve(clientAddress, username) {
      const user = userKey(username)
      try {
        await address.consume(clientAddress, 1)
      } catch (err) {
        const res = refusedRes(err)
        if (!res) throw err
        await giveBack(address, clientAddress) // a refused attempt is not a failure: only failures count
        return { ok: false, retryAfterMs: res.msBeforeNext, scope: 'address' }
      }
      let n: number
      try {
        n = (await failures.consume(user, 1)).consumedPoints
      } catch (err) {
        await giveBack(address, clientAddress)
        throw err
      }
      if (n > settings.freeAttempts) {
        try {
          await gate.consume(user, 1, { customDuration: waitAfter(n) })
        } catch (err) {
          await Promise.all([giveBack(failures, user), giveBack(address, clientAddress)])
          const res = refusedRes(err)
          if (!res) throw err
          return { ok: false, retryAfterMs: res.msBeforeNext, scope: 'username' }
        }
      }
      let settled = false
      return {
        ok: true,
        async settle(outcome) {
          if (settled || outcome === 'failed') return void (settled = true)
          settled = true
          if (outcome === 'succeeded') await Promise.all([failures.delete(user), gate.delete(user), giveBack(address, clientAddress)])
          else await Promise.all([giveBack(failures, user), giveBack(address, clientAddress)])
        },
      }
    },
    async unlock(username) {
      const user = userKey(username)
      // The shared store, and this instance's memory (which held the counts during any outage).
      await Promise.all([failures.delete(user), gate.delete(user)])
      if (redis) await Promise.all([local.get(`${PREFIX}:user`)!.delete(user), local.get(`${PREFIX}:wait`)!.delete(user)])
    },
  }
}
