import { and, desc, eq, gte, lt, lte, sql, type SQL } from 'drizzle-orm'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { Db } from '../db/client.js'
import { auditEvents, type AuditEventRow } from '../db/schema.js'

export const AUDIT_ACTIONS = [
  'login.succeeded',
  'login.failed',
  'login.limited',
  'logout',
  'user.created',
  'user.changed',
  'user.disabled',
  'user.deleted',
  'user.unlocked',
  'api_key.issued',
  'api_key.revoked',
  'access.denied',
  'api_key.rotated',
  'api_key.grace_ended',
  'user.password_changed',
  'access.limited',
  'group.created',
  'group.changed',
  'group.deleted',
  'group.member_added',
  'group.member_removed',
] as const
export type AuditAction = (typeof AUDIT_ACTIONS)[number]

export interface AuditEvent {
  action: AuditAction
  /** Who acted: the caller, or for logins the user who tried (when the username exists). */
  actor?: { userId: string; username: string } | null
  /** What it acted on: a user id, a key id, a block or a route. */
  target?: string | null
  status?: number
}

export interface AuditQuery {
  actor?: string
  action?: AuditAction
  since?: Date
  until?: Date
  /** Paging: events older than this event id. */
  before?: number
  limit: number
}

/** What GET /admin/audit answers for one event. */
export const toAuditRecord = (e: AuditEventRow) => ({
  event_id: e.eventId,
  at: e.at.toISOString(),
  action: e.action,
  actor_id: e.actorId,
  actor_name: e.actorName,
  target: e.target,
  status: e.status,
  client_address: e.clientAddress,
  request_id: e.requestId,
  count: e.count,
})

/** Aggregated events wait at most this long before they are written. */
const AGGREGATE_FLUSH_MS = 1000
/** Buckets held before a write is forced (a flood from many addresses at once). */
const MAX_BUCKETS = 5000

/**
 * What an anonymous client can trigger at will — denied access (401, 403) and any 429 — is counted,
 * not written a row a time: one row per client address, action, route, status, actor and minute,
 * whose `count` grows. A flood then writes a bounded number of rows, and the log still shows it.
 */
const aggregated = (event: AuditEvent) => event.action === 'access.denied' || event.status === 429

interface Bucket {
  row: typeof auditEvents.$inferInsert & { bucket: string; count: number }
}

/** One event's row, built once: every login and every denial writes one. */
const insertEvent = (db: Db) =>
  db
    .insert(auditEvents)
    .values({
      action: sql.placeholder('action'),
      actorId: sql.placeholder('actorId'),
      actorName: sql.placeholder('actorName'),
      target: sql.placeholder('target'),
      status: sql.placeholder('status'),
      clientAddress: sql.placeholder('clientAddress'),
      requestId: sql.placeholder('requestId'),
    })
    .prepare('mlblocks_auth_insert_event')

/**
 * The security event log. Writes never hold up or fail the request that caused them: they are
 * queued and any error goes to the log.
 */
export class Audit {
  #pending = new Set<Promise<unknown>>()
  #insertEvent: ReturnType<typeof insertEvent> | undefined
  #buckets = new Map<string, Bucket>()
  #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly db: Db,
    private readonly log: FastifyBaseLogger,
  ) {}

  record(request: FastifyRequest, event: AuditEvent): void {
    if (aggregated(event)) return this.#count(request, event)
    const write = (this.#insertEvent ??= insertEvent(this.db))
      .execute({
        action: event.action,
        actorId: event.actor?.userId ?? null,
        actorName: event.actor?.username ?? null,
        target: event.target ?? null,
        status: event.status ?? null,
        clientAddress: request.ip,
        requestId: String(request.id),
      })
      .catch((err: unknown) => this.log.error({ err, action: event.action }, 'audit: could not record an event'))
      .finally(() => this.#pending.delete(write))
    this.#pending.add(write)
  }

  #count(request: FastifyRequest, event: AuditEvent): void {
    const now = new Date()
    const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000).toISOString()
    const actorId = event.actor?.userId ?? null
    const key = [request.ip, event.action, event.target ?? '', event.status ?? '', actorId ?? '', minute].join('|')
    const held = this.#buckets.get(key)
    if (held) {
      held.row.count += 1
      return
    }
    this.#buckets.set(key, {
      row: {
        at: now,
        action: event.action,
        actorId,
        actorName: event.actor?.username ?? null,
        target: event.target ?? null,
        status: event.status ?? null,
        clientAddress: request.ip,
        requestId: String(request.id), // the first request of the minute
        count: 1,
        bucket: key,
      },
    })
    if (this.#buckets.size >= MAX_BUCKETS) this.#writeBuckets()
    else this.#timer ??= setTimeout(() => this.#writeBuckets(), AGGREGATE_FLUSH_MS).unref()
  }

  /** Writes the counted events in one statement, adding to the rows of their minute. */
  #writeBuckets(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#buckets.size === 0) return
    const rows = [...this.#buckets.values()].map((b) => b.row)
    this.#buckets = new Map()
    const write = this.db
      .insert(auditEvents)
      .values(rows)
      .onConflictDoUpdate({ target: auditEvents.bucket, set: { count: sql`${auditEvents.count} + excluded.count` } })
      .then(() => undefined)
      .catch((err: unknown) => this.log.error({ err, action: 'access.denied', events: rows.length }, 'audit: could not record counted events'))
      .finally(() => this.#pending.delete(write))
    this.#pending.add(write)
  }

  /** Writes what is counted and waits for queued writes (on shutdown, and in tests). */
  async flush(): Promise<void> {
    this.#writeBuckets()
    await Promise.all([...this.#pending])
  }

  list(query: AuditQuery): Promise<AuditEventRow[]> {
    const where: SQL[] = []
    if (query.actor) where.push(isUuid(query.actor) ? eq(auditEvents.actorId, query.actor) : eq(auditEvents.actorName, query.actor))
    if (query.action) where.push(eq(auditEvents.action, query.action))
    if (query.since) where.push(gte(auditEvents.at, query.since))
    if (query.until) where.push(lte(auditEvents.at, query.until))
    if (query.before !== undefined) where.push(lt(auditEvents.eventId, query.before))
    return this.db
      .select()
      .from(auditEvents)
      .where(and(...where))
      .orderBy(desc(auditEvents.eventId))
      .limit(query.limit)
  }

  /** Deletes events older than the retention. */
  async prune(retentionMs: number): Promise<void> {
    await this.db.delete(auditEvents).where(lt(auditEvents.at, new Date(Date.now() - retentionMs)))
  }
}

const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)
