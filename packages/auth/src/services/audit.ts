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
})

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

  constructor(
    private readonly db: Db,
    private readonly log: FastifyBaseLogger,
  ) {}

  record(request: FastifyRequest, event: AuditEvent): void {
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

  /** Waits for queued writes (on shutdown, and in tests). */
  async flush(): Promise<void> {
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
