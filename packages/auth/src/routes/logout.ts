import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { described, ErrorReply } from '@mlblocks/core'
import { NotATokenLogout } from '../errors.js'
import type { RouteDeps } from './deps.js'

export const logoutRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { tokens, credentials, audit }) => {
  app.post(
    '/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'Revoke the login token of this request',
        operationId: 'logout',
        response: {
          204: Type.Null({ description: 'The token is revoked, on every instance.' }),
          400: described(ErrorReply, 'The credential is an API key, not a login token (MLB_BAD_REQUEST): an admin revokes keys.'),
        },
      },
    },
    async (request, reply) => {
      const principal = request.principal!
      if (principal.via !== 'token') throw new NotATokenLogout()
      await tokens.revoke(principal.credentialId)
      credentials.forgetCredential(principal.credentialId)
      audit.record(request, { action: 'logout', actor: principal, target: principal.credentialId })
      return reply.code(204).send(null)
    },
  )
}
