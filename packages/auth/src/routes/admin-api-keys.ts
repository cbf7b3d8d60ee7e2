import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { described, ErrorReply } from '@mlblocks/core'
import { adminOnly } from '../hooks/protect-routes.js'
import { toApiKeyRecord } from '../services/api-keys.js'
import type { RouteDeps } from './deps.js'
import { keyExpiry, noBodyIsEmpty, toCreatedKey, toRotatedKey } from './key-input.js'
import { ApiKeyRecord, CreatedApiKey, Id, KeyName, KeyScope, RotateBody, RotatedApiKey } from './schemas.js'

export { CreatedApiKey } from './schemas.js'

export const CreateApiKeyBody = Type.Object(
  {
    user_id: Type.String({ format: 'uuid' }),
    expiration_date: Type.Optional(Type.String({ format: 'date-time', description: 'In the future. Absent: the key never expires.' })),
    name: Type.Optional(KeyName),
    blocks: Type.Optional(KeyScope),
  },
  { additionalProperties: false, examples: [{ user_id: '3f1c9a52-7b2e-4d1a-9c55-0e8a4b6f2d17', expiration_date: '2027-06-30T00:00:00Z' }] },
)
const ListQuery = Type.Object({ user_id: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false })

const done = Type.Null({ description: 'The key stops working, on every instance.' })

/**
 * Rotation, for admins and for a key's owner (`ownerId`): a new secret under the same key id; the
 * old one works for the grace, then stops (on every instance: the lookup compares the grace with
 * the database's clock, and every instance drops what it cached of the key now). Both steps are
 * audited: `api_key.rotated`, then `api_key.grace_ended` (at once when there is no grace).
 */
export async function rotateKey(deps: Pick<RouteDeps, 'apiKeys' | 'credentials' | 'audit'>, request: FastifyRequest, keyId: string, graceSeconds: number, ownerId?: string) {
  const { apiKeys, credentials, audit } = deps
  const { key, row } = await apiKeys.rotate(keyId, graceSeconds, ownerId)
  // The owner's cached credentials go everywhere (this also reloads the prefixes of keys issued
  // before the checksum, one of which may now be an old secret in its grace).
  credentials.forgetUser(row.userId)
  audit.record(request, { action: 'api_key.rotated', actor: request.principal, target: keyId })
  if (graceSeconds === 0) audit.record(request, { action: 'api_key.grace_ended', actor: request.principal, target: keyId })
  else apiKeys.scheduleGraceEnd(graceSeconds, (err) => request.log.error({ err }, 'auth: could not clear the old secrets of rotated keys'))
  return toRotatedKey(key, row)
}

export const adminApiKeyRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { apiKeys, credentials, audit }) => {
  adminOnly(app, audit)

  app.post(
    '/admin/apikeys',
    {
      schema: {
        tags: ['admin'],
        summary: 'Issue an API key for a user, optionally scoped to some blocks',
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
      const { user_id, expiration_date, name, blocks } = request.body
      const expires = keyExpiry(expiration_date)
      const issuedBy = request.principal && { userId: request.principal.userId, username: request.principal.username }
      const { key, row } = await apiKeys.issue(user_id, { expirationDate: expires, name: name ?? null, blocks: blocks ?? null, issuedBy })
      audit.record(request, { action: 'api_key.issued', actor: request.principal, target: row.keyId })
      return reply.code(201).send(toCreatedKey(key, row))
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

  app.post(
    '/admin/apikeys/:id/rotate',
    {
      preValidation: noBodyIsEmpty,
      schema: {
        tags: ['admin'],
        operationId: 'rotate_api_key',
        summary: 'Rotate an API key: a new secret under the same key id; the old one works for grace_seconds',
        params: Id,
        body: RotateBody,
        response: {
          200: described(RotatedApiKey, 'The new secret under the same key_id, shown this once; the old one works until previous_valid_until.'),
          400: ErrorReply,
          404: described(ErrorReply, 'No API key with that id (MLB_API_KEY_NOT_FOUND).'),
          409: described(ErrorReply, 'The key is revoked or expired: it cannot be rotated (MLB_API_KEY_NOT_LIVE).'),
        },
      },
    },
    async (request) => rotateKey({ apiKeys, credentials, audit }, request, request.params.id, request.body.grace_seconds ?? 0),
  )
}
