import pTimeout from 'p-timeout'

/** The Postgres error code of a failed query, looking through drizzle's wrapper. */
export function pgCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
  }
  return undefined
}

export const UNIQUE_VIOLATION = '23505'

/** Seconds a client is told to wait (Retry-After) when the database cannot answer (503). */
export const RETRY_AFTER_S = 5

/** The `postgres` driver's own codes for a connection that could not be made or was lost. */
const DRIVER_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT'])
/**
 * Server answers that mean "not now" rather than "wrong query": connection exceptions (08),
 * insufficient resources (53), operator intervention such as a shutdown (57P0x), a database that
 * is gone (3D000) or not accepting connections (55000 at connection time).
 */
const SERVER_CODES = /^(08|53|57P0)|^3D000$|^55000$/

/**
 * True when a query failed because the database could not be reached (refused, reset, timed out,
 * shut down), so that the answer is a 503 to retry, not a 500. Looks through drizzle's wrapper.
 */
export function isDatabaseOutage(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DatabaseTimeout) return true
    const code = (e as { code?: unknown }).code
    if (typeof code !== 'string') continue
    if (DRIVER_CODES.has(code) || /^E[A-Z]+$/.test(code)) return true // ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE…
    if (/^[0-9A-Z]{5}$/.test(code)) return SERVER_CODES.test(code)
  }
  return false
}

/** A database call that got no answer within its deadline. */
export class DatabaseTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms / 1000} s`)
    this.name = 'DatabaseTimeout'
  }
}

/**
 * `work`, or a DatabaseTimeout after `ms` (p-timeout; the timer is cleared once `work` settles). The
 * `postgres` driver's connect_timeout does not bound a connection to a host that drops packets, and
 * its queries take no AbortSignal, so the deadline is kept here.
 */
export function withDeadline<T>(ms: number, work: Promise<T>): Promise<T> {
  return pTimeout(work, { milliseconds: ms, message: new DatabaseTimeout(ms) })
}
