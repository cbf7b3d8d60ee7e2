import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { described, ErrorReply } from '@mlblocks/core'
import { adminOnly } from '../hooks/protect-routes.js'
import type { RouteDeps } from './deps.js'
import { parseTimestamp } from './schemas.js'

const UsageQuery = Type.Object(
  {
    user_id: Type.Optional(Type.String({ format: 'uuid' })),
    key_id: Type.Optional(Type.String({ format: 'uuid', description: 'An API key id.' })),
    block: Type.Optional(Type.String({ pattern: '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$' })),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'From the hour that holds this time on.' })),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'Hours that start at or before this time.' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 })),
  },
  { additionalProperties: false },
)
const UsageRecord = Type.Object({
  user_id: Type.String(),
  key_id: Type.Union([Type.String(), Type.Null()], { description: 'null: requests made with a login token.' }),
  block: Type.String(),
  hour: Type.String({ format: 'date-time', description: 'The start of the hour (UTC).' }),
  requests: Type.Integer(),
  errors: Type.Integer({ description: 'Of those, the ones answered 4xx or 5xx.' }),
})

export const adminUsageRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { audit, usage }) => {
  adminOnly(app, audit)
  app.get(
    '/admin/usage',
    {
      schema: {
        tags: ['admin'],
        operationId: 'get_usage',
        summary: 'Predict requests and errors per user, API key, block and hour, newest hour first',
        querystring: UsageQuery,
        response: { 200: described(Type.Array(UsageRecord), 'Requests and errors per user, key, block and hour.'), 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 503: ErrorReply },
      },
    },
    async (request) => {
      const { user_id, key_id, block, since, until, limit = 1000 } = request.query
      const from = since === undefined ? undefined : parseTimestamp('querystring.since', since)
      const to = until === undefined ? undefined : parseTimestamp('querystring.until', until)
      // This instance's counts first; the others' reach the database within USAGE_FLUSH_MS.
      await usage.flush()
      return usage.list({
        limit,
        ...(user_id ? { userId: user_id } : {}),
        ...(key_id ? { keyId: key_id } : {}),
        ...(block ? { block } : {}),
        ...(from ? { since: from } : {}),
        ...(to ? { until: to } : {}),
      })
    },
  )
}
