import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Credentials } from './credentials.js'

export type LoginOutcome = 'succeeded' | 'failed' | 'limited'

/** The answers access control gives that an operator watches: refused credentials, missing rights, limits. */
const DENIALS = new Set([401, 403, 429])

/**
 * Auth's metrics on core's registry (`app.mlblocks.metrics`): logins by outcome, the 401/403/429
 * answers, the credential cache's hits and misses, and the database pool. Without a registry
 * (metrics off, or auth registered outside core) every method is a no-op that costs a branch.
 */
export class AuthMetrics {
  readonly #logins: Counter<'outcome'> | undefined
  readonly #denied: Counter<'status'> | undefined
  readonly #deniedByStatus = new Map<number, Counter.Internal>()

  constructor(registry: Registry | undefined, credentials: Credentials, pool: { size: number; kind: 'postgres' | 'embedded' }) {
    if (!registry) return
    this.#logins = new Counter({
      name: 'mlblocks_auth_logins_total',
      help: 'POST /login attempts by outcome: succeeded, failed (wrong username or password) or limited (429).',
      labelNames: ['outcome'],
      registers: [registry],
    })
    for (const outcome of ['succeeded', 'failed', 'limited'] as const) this.#logins.labels(outcome).inc(0)
    this.#denied = new Counter({
      name: 'mlblocks_auth_denied_total',
      help: 'Answers 401 (no or a bad credential), 403 (no right) and 429 (a limit) on the routes auth guards and /login.',
      labelNames: ['status'],
      registers: [registry],
    })
    for (const status of DENIALS) this.#deniedByStatus.set(status, this.#denied.labels(String(status)))
    new Counter({
      name: 'mlblocks_auth_credential_cache_hits_total',
      help: 'Credential checks answered from the in-memory cache, without the database.',
      registers: [registry],
      collect() {
        this.reset()
        this.inc(credentials.hits)
      },
    })
    new Counter({
      name: 'mlblocks_auth_credential_cache_misses_total',
      help: 'Credential checks that asked the database (or shared a lookup already on its way).',
      registers: [registry],
      collect() {
        this.reset()
        this.inc(credentials.misses)
      },
    })
    new Gauge({
      name: 'mlblocks_auth_credential_cache_entries',
      help: 'Verified credentials held in the cache now.',
      registers: [registry],
      collect() {
        this.set(credentials.size)
      },
    })
    new Gauge({
      name: 'mlblocks_auth_db_pool_size',
      help: 'Connections the auth database pool may open (postgres: 10; embedded: 1).',
      labelNames: ['database'],
      registers: [registry],
    }).set({ database: pool.kind }, pool.size)
    new Gauge({
      name: 'mlblocks_auth_db_lookups_in_flight',
      help: 'Credential lookups waiting on the auth database now (each holds a pool connection while it runs).',
      registers: [registry],
      collect() {
        this.set(credentials.lookupsInFlight)
      },
    })
  }

  login(outcome: LoginOutcome): void {
    this.#logins?.labels(outcome).inc()
  }

  /** A route-level onResponse hook counting 401/403/429 answers: callback-style, no promise. */
  get deniedHook(): ((request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void) | undefined {
    if (!this.#denied) return undefined
    const byStatus = this.#deniedByStatus
    return function mlblocksAuthMetrics(_request, reply, done) {
      byStatus.get(reply.statusCode)?.inc()
      done()
    }
  }
}
