import { Type } from '@sinclair/typebox'
import { described } from '@mlblocks/core'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { adminOnly } from '../hooks/protect-routes.js'
import type { RouteDeps } from './deps.js'

export const RouteAccessRecord = Type.Object({
  method: Type.String(),
  url: Type.String(),
  access: Type.String({ description: 'public, credential, admin, or block:<name>' }),
  anonymous: Type.Boolean({ description: 'Whether a caller without any credential reaches it (public routes, and the public blocks).' }),
})

export const adminRoutesRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { routeTable, audit }) => {
  adminOnly(app, audit)
  app.get(
    '/admin/routes',
    {
      schema: {
        tags: ['admin'],
        operationId: 'list_route_access',
        summary: 'Every route of the server and who may call it (deny by default: each one is classified at start-up)',
        response: { 200: described(Type.Array(RouteAccessRecord), 'Every route of the server and who may call it.') },
      },
    },
    async () => routeTable(),
  )
}
