import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { described, ErrorReply } from '@mlblocks/core'
import { ScopeBeyondRights, SelfServiceKeysOff, TokenRequired } from '../errors.js'
import { toApiKeyRecord } from '../services/api-keys.js'
import { ownerMayCall } from '../services/principal.js'
import { rotateKey } from './admin-api-keys.js'
import type { RouteDeps } from './deps.js'
import { keyExpiry, noBodyIsEmpty, toCreatedKey } from './key-input.js'
import { ApiKeyRecord, CreatedApiKey, Id, KeyName, KeyScope, RotateBody, RotatedApiKey } from './schemas.js'

export const CreateOwnApiKeyBody = Type.Object(
  {
    name: Type.Optional(KeyName),
    expiration_date: Type.Optional(
      Type.String({ format: 'date-time', description: 'In the future, and no later than AUTH_MAX_KEY_TTL from now when that is set (absent: that latest date, or never).' }),
    ),
    blocks: Type.Optional(KeyScope),
  },
  { additionalProperties: false },
)

/** Login tokens only: a key that could mint keys would make a leaked key outlive its revocation. */
export function requireToken(request: FastifyRequest): string {
  const principal = request.principal!
  if (principal.via !== 'token') throw new TokenRequired()
  return principal.userId
}

const errors = { 400: ErrorReply, 404: ErrorReply }

/** A logged-in user's own keys: scoped within their own rights, another's key id is a 404. */
export const meApiKeyRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { apiKeys, credentials, audit, settings }) => {
  // After the credential check (added by the parent's onRoute), before the handler.
  const selfService: onRequestHookHandler = async function mlblocksSelfService(request) {
    if (!settings.selfServiceKeys) {
      audit.record(request, { action: 'access.denied', actor: request.principal, status: 403, target: `${request.method} ${request.routeOptions.url ?? ''}` })
      throw new SelfServiceKeysOff()
    }
    requireToken(request)
  }
  app.addHook('onRoute', (route) => {
    route.onRequest = [...(route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]), selfService]
  })

  app.get(
    '/me/apikeys',
    { schema: { tags: ['me'], operationId: 'list_own_api_keys', summary: 'List your own API keys (prefixes only)', response: { 200: described(Type.Array(ApiKeyRecord), 'Your keys, each with its prefix: never a key or its hash.') } } },
    async (request) => (await apiKeys.list(request.principal!.userId)).map(toApiKeyRecord),
  )

  app.post(
    '/me/apikeys',
    {
      schema: {
        tags: ['me'],
        operationId: 'create_own_api_key',
        summary: 'Issue yourself an API key, optionally scoped to some of your blocks',
        body: CreateOwnApiKeyBody,
        response: { 201: described(CreatedApiKey, 'Your new key: api_key is shown this once and only its hash is kept.'), ...errors, 409: ErrorReply },
      },
    },
    async (request, reply) => {
      const principal = request.principal!
      const { name, expiration_date, blocks } = request.body
      // Within the caller's own rights: a block they may not call cannot be in their key's scope.
      const denied = blocks?.find((block) => block !== '*' && !ownerMayCall(principal, block))
      if (denied !== undefined) throw new ScopeBeyondRights(denied)
      const expires = keyExpiry(expiration_date, settings.maxKeyTtlMs)
      const issuedBy = { userId: principal.userId, username: principal.username }
      const { key, row } = await apiKeys.issueOwn(principal.userId, { expirationDate: expires, name: name ?? null, blocks: blocks ?? null, issuedBy })
      audit.record(request, { action: 'api_key.issued', actor: principal, target: row.keyId })
      return reply.code(201).send(toCreatedKey(key, row))
    },
  )

  app.delete(
    '/me/apikeys/:id',
    { schema: { tags: ['me'], operationId: 'revoke_own_api_key', summary: 'Revoke one of your API keys', params: Id, response: { 204: Type.Null({ description: 'The key stops working, on every instance.' }), ...errors } } },
    async (request, reply) => {
      await apiKeys.revoke(request.params.id, request.principal!.userId)
      credentials.forgetCredential(request.params.id)
      audit.record(request, { action: 'api_key.revoked', actor: request.principal, target: request.params.id })
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/me/apikeys/:id/rotate',
    {
      preValidation: noBodyIsEmpty,
      schema: {
        tags: ['me'],
        operationId: 'rotate_own_api_key',
        summary: 'Rotate one of your API keys: a new secret under the same key id; the old one works for grace_seconds',
        params: Id,
        body: RotateBody,
        response: { 200: described(RotatedApiKey, 'The new secret under the same key_id, shown this once; the old one works until previous_valid_until.'), ...errors, 409: ErrorReply },
      },
    },
    async (request) => rotateKey({ apiKeys, credentials, audit }, request, request.params.id, request.body.grace_seconds ?? 0, request.principal!.userId),
  )
}
