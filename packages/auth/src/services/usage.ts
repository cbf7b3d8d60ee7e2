import type { FastifyBaseLogger, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { and, asc, desc, eq, gte, lt, lte, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { usage } from '../db/schema.js'

/** How often each instance adds what it counted to the database. */
export const USAGE_FLUSH_MS = 5000
/** Counters held in memory at most (user × key × block × hour); past it, a flush starts at once. */
const MAX_COUNTERS = 10_000
const HOUR_MS = 3_600_000

interface Counter {
  userId: string
  keyId: string
  block: string
  hour: Date
  requests: number
  errors: number
}

export interface UsageQuery {
  userId?: string
  keyId?: string
  block?: string
  since?: Date
  until?: Date
  limit: number
}

export interface UsageRecord {
  user_id: string
  key_id: string | null
  block: string
  hour: string
  requests: number
  errors: number
}

/**
 * Requests and errors (any 4xx or 5xx answer) per user, API key, block and hour, counted in memory
 * on each predict and added to the database's counters in one statement per flush (every
 * USAGE_FLUSH_MS, when MAX_COUNTERS are held, and on close): never a row per request. Counters of
 * a flush that fails (the database is down) are kept and added to the next one.
 */
export class Usage {
  #counters = new Map<string, Counter>()
  #writing: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly db: Db,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Starts the periodic flush. */
  start(): void {
    this.#timer ??= setInterval(() => void this.flush(), USAGE_FLUSH_MS).unref()
  }

  /** Route-level onResponse hook for a block's predict route: callback-style, only a Map update. */
  hook(block: string) {
    return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const principal = request.principal
      // A request refused before its credential checked out (401) belongs to no user.
      if (principal) this.count(principal.userId, principal.via === 'api_key' ? principal.credentialId : '', block, reply.statusCode >= 400)
      done()
    }
  }

  count(userId: string, keyId: string, block: string, error: boolean, now = Date.now()): void {
    const hour = now - (now % HOUR_MS)
    const id = `${userId}|${keyId}|${block}|${hour}`
    let counter = this.#counters.get(id)
    if (!counter) {
      counter = { userId, keyId, block, hour: new Date(hour), requests: 0, errors: 0 }
      this.#counters.set(id, counter)
      if (this.#counters.size >= MAX_COUNTERS) void this.flush()
    }
    counter.requests += 1
    if (error) counter.errors += 1
  }

  /** Adds what this instance counted to the database; one flush at a time. */
  flush(): Promise<void> {
    this.#writing ??= this.#write().finally(() => (this.#writing = undefined))
    return this.#writing
  }

  async #write(): Promise<void> {
    while (this.#counters.size > 0) {
      const batch = this.#counters
      this.#counters = new Map()
      try {
        await this.db
          .insert(usage)
          .values([...batch.values()])
          .onConflictDoUpdate({
            target: [usage.userId, usage.keyId, usage.block, usage.hour],
            set: { requests: sql`${usage.requests} + excluded.requests`, errors: sql`${usage.errors} + excluded.errors` },
          })
      } catch (err) {
        // Kept for the next flush (merged with what was counted meanwhile), within the bound.
        for (const [id, c] of batch) {
          const now = this.#counters.get(id)
          if (now) {
            now.requests += c.requests
            now.errors += c.errors
          } else if (this.#counters.size < MAX_COUNTERS) this.#counters.set(id, c)
        }
        this.log.error({ err, counters: batch.size }, 'usage: could not write the counters; keeping them for the next flush')
        return
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.flush()
  }

  async list(query: UsageQuery): Promise<UsageRecord[]> {
    const where: SQL[] = []
    if (query.userId) where.push(eq(usage.userId, query.userId))
    if (query.keyId !== undefined) where.push(eq(usage.keyId, query.keyId))
    if (query.block) where.push(eq(usage.block, query.block))
    if (query.since) where.push(gte(usage.hour, new Date(query.since.getTime() - (query.since.getTime() % HOUR_MS))))
    if (query.until) where.push(lte(usage.hour, query.until))
    const rows = await this.db
      .select()
      .from(usage)
      .where(and(...where))
      .orderBy(desc(usage.hour), asc(usage.userId), asc(usage.keyId), asc(usage.block))
      .limit(query.limit)
    return rows.map((r) => ({
      user_id: r.userId,
      key_id: r.keyId === '' ? null : r.keyId,
      block: r.block,
      hour: r.hour.toISOString(),
      requests: Number(r.requests),
      errors: Number(r.errors),
    }))
  }

  /** Deletes the hours older than the retention (the audit log's). */
  async prune(retentionMs: number): Promise<void> {
    await this.db.delete(usage).where(lt(usage.hour, new Date(Date.now() - retentionMs)))
  }
}
