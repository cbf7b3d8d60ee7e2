import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BadInput, described, ErrorReply } from '@mlblocks/core'
import { adminOnly } from '../hooks/protect-routes.js'
import { toApiKeyRecord } from '../services/api-keys.js'
import type { RouteDeps } from './deps.js'
import { ApiKeyRecord, Id, parseTimestamp } from './schemas.js'

export const CreateApiKeyBody = Type.Object(
  {
    user_id: Type.String({ format: 'uuid' }),
    expiration_date: Type.Optional(Type.String({ format: 'date-time', description: 'In the future. Absent: the key never expires.' })),
  },
  { additionalProperties: false, examples: [{ user_id: '3f1c9a52-7b2e-4d1a-9c55-0e8a4b6f2d17', expiration_date: '2027-06-30T00:00:00Z' }] },
)
export const CreatedApiKey = Type.Object({
  api_key: Type.String({ description: 'Shown this once: store it now.' }),
  key_id: Type.String(),
  user_id: Type.String(),
  expiration_date: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
}, {
  examples: [
    {
      api_key: 'mlb_ExampleOnlyNotAKey000000000000000000',
      key_id: '9b0e6c1d-52a4-4f3e-8d27-6a1f0c4b7e93',
      user_id: '3f1c9a52-7b2e-4d1a-9c55-0e8a4b6f2d17',
      expiration_date: '2027-06-30T00:00:00.000Z',
    },
  ],
})
const ListQuery = Type.Object({ user_id: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false })

const done = Type.Null({ description: 'The key stops working, on every instance.' })

export const adminApiKeyRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { apiKeys, credentials, audit }) => {
  adminOnly(app, audit)

  app.post(
    '/admin/apikeys',
    {
      schema: {
        tags: ['admin'],
        summary: 'Issue an API key for a user',
        operationId: 'issue_api_key',
        body: CreateApiKeyBody,
        response: {
          201: described(CreatedApiKey, 'The key: api_key is shown this once and only its hash is kept.'),
          400: ErrorReply,
          404: described(ErrorReply, 'No user with that user_id (MLB_USER_NOT_FOUND).'),
        },
      },
    },
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
    {
      schema: {
        tags: ['admin'],
        summary: 'List API keys (prefixes only), optionally of one user',
        operationId: 'list_api_keys',
        querystring: ListQuery,
        response: { 200: described(Type.Array(ApiKeyRecord), 'The keys, each with its prefix: never a key or its hash.'), 400: ErrorReply },
      },
    },
    async (request) => (await apiKeys.list(request.query.user_id)).map(toApiKeyRecord),
  )

  app.delete(
    '/admin/apikeys/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Revoke an API key',
        operationId: 'revoke_api_key',
        params: Id,
        response: { 204: done, 400: ErrorReply, 404: described(ErrorReply, 'No API key with that id (MLB_API_KEY_NOT_FOUND).') },
      },
    },
    async (request, reply) => {
      await apiKeys.revoke(request.params.id)
      credentials.forgetCredential(request.params.id)
      audit.record(request, { action: 'api_key.revoked', actor: request.principal, target: request.params.id })
      return reply.code(204).send(null)
    },
  )
}
