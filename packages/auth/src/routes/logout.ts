import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { NotATokenLogout } from '../errors.js'
import type { RouteDeps } from './deps.js'

export const logoutRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { tokens, credentials, audit }) => {
  app.post(
    '/logout',
    { schema: { tags: ['auth'], summary: 'Revoke the login token of this request', response: { 204: Type.Null() } } },
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
