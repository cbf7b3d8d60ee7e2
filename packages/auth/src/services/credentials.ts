import { Unavailable } from '../errors.js'
import { API_KEY_PREFIX, type ApiKeys } from './api-keys.js'
import { isDatabaseOutage, withDeadline } from '../db/errors.js'
import type { Principal } from './principal.js'
import type { Tokens } from './tokens.js'

interface Entry {
  principal: Principal
  until: number
}

const MAX_ENTRIES = 10_000
const MAX_CREDENTIAL_LENGTH = 4096
/** A credential check that waits longer on the database than this answers 503. */
export const VERIFY_DEADLINE_MS = 5000

/** How often expired entries are swept out (at most), so that none outlives its TTL by more. */
const SWEEP_MS = 1000

/**
 * A revocation, as instances tell each other: every credential of a user, or one token or key; or
 * a group changed (its grants, name, deletion), so that every cached principal holding it is dropped.
 */
export type Revocation = { user: string } | { credential: string } | { group: string }

/** The NOTIFY channel on which instances (and the recovery CLI) tell each other of revocations. */
export const REVOCATIONS_CHANNEL = 'mlblocks_auth_revocations'

/**
 * Verifies a bearer credential (a login token or an API key) and caches the answer for `ttlMs`,
 * so that the hot path does not query the database on every request. Revocations on this
 * instance drop the affected entries at once, and are passed to `publish` for the other
 * instances, whose `applyRemote` drops theirs. While that channel is down (`setShared(false)`),
 * nothing is cached: every request asks the database, so no revocation can be missed.
 *
 * The cache is keyed by the credential itself (the owner's decision in issue 26: a digest per
 * request cost about a microsecond, a third of the check): it lives only in this Map, is never
 * logged, serialized or persisted, holds only credentials that verified, at most MAX_ENTRIES of
 * them (the oldest goes first), and drops each entry at its TTL (swept within SWEEP_MS even when
 * never asked again) and on revocation.
 */
export class Credentials {
  readonly #cache = new Map<string, Entry>()
  /** Lookups on their way to the database, by credential: concurrent misses of one credential share one. */
  readonly #inFlight = new Map<string, Promise<Principal | null>>()
  /** Bumped by every revocation: a check that was in flight across one does not fill the cache. */
  #generation = 0
  #shared = true
  #sweeper: NodeJS.Timeout | undefined
  /** Checks answered from the cache, and those that went on to a lookup (for /metrics). */
  hits = 0
  misses = 0

  constructor(
    private readonly tokens: Tokens,
    private readonly apiKeys: ApiKeys,
    private readonly ttlMs: number,
    private readonly publish: (revocation: Revocation) => void = () => undefined,
  ) {}

  /** How many verified credentials the cache holds now (for tests and metrics; never which). */
  get size(): number {
    return this.#cache.size
  }

  /** Lookups on their way to the database now (for /metrics). */
  get lookupsInFlight(): number {
    return this.#lookups
  }
  #lookups = 0

  /** Whether revocations from other instances reach this one; when not, the cache is off. */
  setShared(shared: boolean): void {
    this.#shared = shared
    this.#generation += 1
    this.#cache.clear()
    this.#inFlight.clear()
  }

  /** A revocation made on another instance. */
  applyRemote(revocation: Revocation): void {
    if ('user' in revocation) {
      this.apiKeys.reloadLegacy()
      this.#forget((p) => p.userId === revocation.user)
    } else if ('group' in revocation) {
      this.#forget((p) => p.rights.hasGroup(revocation.group))
    } else {
      this.apiKeys.forgetLegacy({ keyId: revocation.credential })
      this.#forget((p) => p.credentialId === revocation.credential)
    }
  }

  /**
   * The principal, or null (401): at once when the credential was checked within the last
   * `ttlMs` (the hot path: no promise), else a promise that asks the database. That promise
   * rejects with MLB_UNAVAILABLE (503) when the database cannot answer. Checks of one credential
   * that miss while its lookup is on the way wait for that lookup instead of starting their own
   * (when a busy key's entry expires, its clients ask the database once, not once each); a
   * revocation cuts them off, so a check made after it always asks afresh. With the cache off,
   * every check asks on its own.
   */
  check(credential: string): Principal | null | Promise<Principal | null> {
    if (credential.length === 0 || credential.length > MAX_CREDENTIAL_LENGTH) return null
    const now = Date.now()
    const hit = this.#cache.get(credential)
    if (hit && hit.until > now) {
      this.hits += 1
      return hit.principal
    }
    if (hit) this.#cache.delete(credential)
    // A key whose checksum fails (or of the old shape, with no old key's prefix) is refused here, on
    // a miss (a cached key passed it already): no lookup, and no promise.
    if (credential.startsWith(API_KEY_PREFIX) && !this.apiKeys.mayExist(credential)) return null
    this.misses += 1
    if (this.ttlMs === 0 || !this.#shared) return this.#lookup(credential, now)
    const pending = this.#inFlight.get(credential)
    if (pending) return pending
    const lookup = this.#lookup(credential, now).finally(() => {
      if (this.#inFlight.get(credential) === lookup) this.#inFlight.delete(credential)
    })
    this.#inFlight.set(credential, lookup)
    return lookup
  }

  async #lookup(credential: string, now: number): Promise<Principal | null> {
    const generation = this.#generation
    let found: Awaited<ReturnType<Tokens['verify']>> | Awaited<ReturnType<ApiKeys['verify']>>
    try {
      this.#lookups += 1
      const lookup = credential.startsWith(API_KEY_PREFIX) ? this.apiKeys.verify(credential) : this.tokens.verify(credential)
      found = await withDeadline(VERIFY_DEADLINE_MS, lookup)
    } catch (err) {
      if (isDatabaseOutage(err)) throw new Unavailable()
      throw err
    } finally {
      this.#lookups -= 1
    }
    if (!found) return null
    if (this.ttlMs > 0 && this.#shared && generation === this.#generation) {
      if (this.#cache.size >= MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!)
      const until = Math.min(now + this.ttlMs, found.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY)
      this.#cache.set(credential, { principal: found.principal, until })
      this.#sweeper ??= setInterval(() => this.#sweep(), Math.min(SWEEP_MS, this.ttlMs)).unref()
    }
    return found.principal
  }

  /** Drops every cached credential of a user (revoked, disabled, deleted, demoted, new grants), here and on the other instances. */
  forgetUser(userId: string): void {
    this.apiKeys.reloadLegacy()
    this.#forget((p) => p.userId === userId)
    this.publish({ user: userId })
  }

  /** A group changed or went: drops every cached principal that holds its grants, here and on the other instances. */
  forgetGroup(groupId: string): void {
    this.#forget((p) => p.rights.hasGroup(groupId))
    this.publish({ group: groupId })
  }

  /** Drops one token or key, here and on the other instances. */
  forgetCredential(credentialId: string): void {
    this.apiKeys.forgetLegacy({ keyId: credentialId })
    this.#forget((p) => p.credentialId === credentialId)
    this.publish({ credential: credentialId })
  }

  /** Drops every entry past its TTL; stops sweeping once the cache is empty. */
  #sweep(): void {
    const now = Date.now()
    for (const [key, entry] of this.#cache) if (entry.until <= now) this.#cache.delete(key)
    if (this.#cache.size === 0) this.close()
  }

  /** Stops the sweeping timer (the server closes); the cache may be used again, which restarts it. */
  close(): void {
    clearInterval(this.#sweeper)
    this.#sweeper = undefined
  }

  #forget(matches: (principal: Principal) => boolean): void {
    this.#generation += 1
    // A lookup on its way may answer with what was just revoked: later checks must not wait for it.
    this.#inFlight.clear()
    for (const [key, entry] of this.#cache) if (matches(entry.principal)) this.#cache.delete(key)
  }
}
