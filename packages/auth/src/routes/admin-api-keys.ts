import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BadInput, ErrorReply } from '@mlblocks/core'
import { adminOnly } from '../hooks/protect-routes.js'
import { toApiKeyRecord } from '../services/api-keys.js'
import type { RouteDeps } from './deps.js'
import { ApiKeyRecord, Id, parseTimestamp } from './schemas.js'

export const CreateApiKeyBody = Type.Object(
  {
    user_id: Type.String({ format: 'uuid' }),
    expiration_date: Type.Optional(Type.String({ format: 'date-time', description: 'In the future. Absent: the key never expires.' })),
  },
  { additionalProperties: false },
)
export const CreatedApiKey = Type.Object({
  api_key: Type.String({ description: 'Shown this once: store it now.' }),
  key_id: Type.String(),
  user_id: Type.String(),
  expiration_date: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
})
const ListQuery = Type.Object({ user_id: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false })

const errors = { 400: ErrorReply, 404: ErrorReply }

export const adminApiKeyRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { apiKeys, credentials, audit }) => {
  adminOnly(app, audit)

  app.post(
    '/admin/apikeys',
    { schema: { tags: ['admin'], summary: 'Issue an API key for a user', body: CreateApiKeyBody, response: { 201: CreatedApiKey, ...errors } } },
    async (request, reply) => {
      const { user_id, expiration_date } = request.body
      const expires = expiration_date === undefined ? null : parseTimestamp('body.expiration_date', expiration_date)
      if (expires && expires.getTime() <= Date.now()) {
        throw new BadInput('body.expiration_date must lie in the future.')
      }
      const { key, row } = await apiKeys.issue(user_id, expires)
      audit.record(request, { action: 'api_key.issued', actor: request.principal, target: row.keyId })
      return reply.code(201).send({ api_key: key, key_id: row.keyId, user_id: row.userId, expiration_date: row.expirationDate?.toISOString() ?? null })
    },
  )

  app.get(
    '/admin/apikeys',
    { schema: { tags: ['admin'], summary: 'List API keys (prefixes only), optionally of one user', querystring: ListQuery, response: { 200: Type.Array(ApiKeyRecord) } } },
    async (request) => (await apiKeys.list(request.query.user_id)).map(toApiKeyRecord),
  )

  app.delete(
    '/admin/apikeys/:id',
    { schema: { tags: ['admin'], summary: 'Revoke an API key', params: Id, response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      await apiKeys.revoke(request.params.id)
      credentials.forgetCredential(request.params.id)
      audit.record(request, { action: 'api_key.revoked', actor: request.principal, target: request.params.id })
      return reply.code(204).send(null)
    },
  )
}
