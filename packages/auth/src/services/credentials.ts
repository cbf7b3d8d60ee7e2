import { createHash } from 'node:crypto'
import { API_KEY_PREFIX, type ApiKeys } from './api-keys.js'
import type { Principal } from './principal.js'
import type { Tokens } from './tokens.js'

interface Entry {
  principal: Principal
  until: number
}

const MAX_ENTRIES = 10_000
const MAX_CREDENTIAL_LENGTH = 4096

/**
 * Verifies a bearer credential (a login token or an API key) and caches the answer for `ttlMs`,
 * so that the hot path does not query the database on every request. Revocations on this
 * instance drop the affected entries at once.
 */
export class Credentials {
  readonly #cache = new Map<string, Entry>()

  constructor(
    private readonly tokens: Tokens,
    private readonly apiKeys: ApiKeys,
    private readonly ttlMs: number,
  ) {}

  async verify(credential: string): Promise<Principal | null> {
    if (credential.length === 0 || credential.length > MAX_CREDENTIAL_LENGTH) return null
    const key = createHash('sha256').update(credential).digest('base64')
    const now = Date.now()
    const hit = this.#cache.get(key)
    if (hit && hit.until > now) return hit.principal
    if (hit) this.#cache.delete(key)

    const found = credential.startsWith(API_KEY_PREFIX) ? await this.apiKeys.verify(credential) : await this.tokens.verify(credential)
    if (!found) return null
    if (this.ttlMs > 0) {
      if (this.#cache.size >= MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!)
      const until = Math.min(now + this.ttlMs, found.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY)
      this.#cache.set(key, { principal: found.principal, until })
    }
    return found.principal
  }

  /** Drops every cached credential of a user (revoked, disabled, deleted, demoted, new grants). */
  forgetUser(userId: string): void {
    for (const [key, entry] of this.#cache) if (entry.principal.userId === userId) this.#cache.delete(key)
  }

  /** Drops one token or key. */
  forgetCredential(credentialId: string): void {
    for (const [key, entry] of this.#cache) if (entry.principal.credentialId === credentialId) this.#cache.delete(key)
  }
}
