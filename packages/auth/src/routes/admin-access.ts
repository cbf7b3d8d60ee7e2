import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BadInput, BlockNotFound, described, ErrorReply } from '@mlblocks/core'
import { adminOnly } from '../hooks/protect-routes.js'
import type { RouteDeps } from './deps.js'

export const AccessCheckBody = Type.Object(
  {
    user_id: Type.Optional(Type.String({ format: 'uuid', description: 'The user to ask about (or key_id).' })),
    key_id: Type.Optional(Type.String({ format: 'uuid', description: 'The API key to ask about (or user_id).' })),
    block: Type.String({ pattern: '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$', description: 'A block of this server.' }),
  },
  { additionalProperties: false },
)
export const AccessAnswer = Type.Object({
  allowed: Type.Boolean(),
  reason: Type.String({ description: 'The grant, group or key scope that decided, or what is missing.' }),
  via: Type.Array(Type.String(), { description: 'What grants it: admin, own, group:<name>, public; empty when not allowed.' }),
})

export const adminAccessRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { accessCheck, blockNames, audit }) => {
  adminOnly(app, audit)
  app.post(
    '/admin/access/check',
    {
      schema: {
        tags: ['admin'],
        operationId: 'check_access',
        summary: 'Would this user or API key be let into this block, and why (or why not)?',
        body: AccessCheckBody,
        response: { 200: described(AccessAnswer, 'Whether that user or key would be let into the block, and the grant, group or scope that decides it.'), 400: ErrorReply, 404: described(ErrorReply, 'No block of that name (MLB_BLOCK_NOT_FOUND).') },
      },
    },
    async (request) => {
      const { user_id, key_id, block } = request.body
      if ((user_id === undefined) === (key_id === undefined)) throw new BadInput('Send exactly one of body.user_id and body.key_id, with body.block.')
      if (!blockNames().includes(block)) throw new BlockNotFound(block)
      return user_id !== undefined ? accessCheck.forUser(user_id, block) : accessCheck.forKey(key_id!, block)
    },
  )
}
