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
