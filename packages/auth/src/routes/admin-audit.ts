import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { described, ErrorReply } from '@mlblocks/core'
import { adminOnly } from '../hooks/protect-routes.js'
import { AUDIT_ACTIONS, toAuditRecord } from '../services/audit.js'
import type { RouteDeps } from './deps.js'
import { MAX_EVENT_ID, parseTimestamp } from './schemas.js'

const AuditQuery = Type.Object(
  {
    actor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._@-]{1,64}$', description: 'A user id or username.' })),
    action: Type.Optional(Type.Union(AUDIT_ACTIONS.map((a) => Type.Literal(a)))),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    before: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_EVENT_ID, description: 'Paging: events older than this event_id.' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
)
const AuditRecord = Type.Object({
  event_id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  action: Type.String(),
  actor_id: Type.Union([Type.String(), Type.Null()]),
  actor_name: Type.Union([Type.String(), Type.Null()]),
  target: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Integer(), Type.Null()]),
  client_address: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.Union([Type.String(), Type.Null()]),
  count: Type.Integer({ description: 'How many events the row stands for: denials are counted per address, action, route and minute (request_id is the first one).' }),
})

export const adminAuditRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { audit }) => {
  adminOnly(app, audit)
  app.get(
    '/admin/audit',
    {
      schema: {
        tags: ['admin'],
        summary: 'Security events, newest first; page with ?before=<last event_id>',
        operationId: 'list_audit_events',
        querystring: AuditQuery,
        response: { 200: described(Type.Array(AuditRecord), 'The events that match, newest first, at most `limit`.'), 400: ErrorReply },
      },
    },
    async (request) => {
      const { actor, action, since, until, before, limit = 100 } = request.query
      const range = { since: since && parseTimestamp('querystring.since', since), until: until && parseTimestamp('querystring.until', until) }
      await audit.flush()
      const rows = await audit.list({
        limit,
        ...(actor ? { actor } : {}),
        ...(action ? { action } : {}),
        ...(range.since ? { since: range.since } : {}),
        ...(range.until ? { until: range.until } : {}),
        ...(before === undefined ? {} : { before }),
      })
      return rows.map(toAuditRecord)
    },
  )
}
