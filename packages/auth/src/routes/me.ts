import { described } from '@mlblocks/core'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RouteDeps } from './deps.js'
import { UserDetails } from './schemas.js'

export const meRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app) => {
  app.get(
    '/me',
    {
      schema: {
        tags: ['auth'],
        summary: 'Who am I: the user behind this token or key',
        operationId: 'get_me',
        response: { 200: described(UserDetails, 'The caller: id, name, role and blocks.') },
      },
    },
    async (request) => {
      const { userId, username, role, blocks } = request.principal!
      return { user_id: userId, username, role, blocks: [...blocks] }
    },
  )
}
