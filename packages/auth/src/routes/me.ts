import { Type } from '@sinclair/typebox'
import { described } from '@mlblocks/core'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RouteDeps } from './deps.js'
import { UserDetails } from './schemas.js'

export const BlockAccessEntry = Type.Object({
  block: Type.String(),
  via: Type.Array(Type.String(), { description: 'Why: "own" (the user’s grant), "group:<name>", "admin", or "public" (AUTH_PUBLIC_BLOCKS).' }),
})
export const MeReply = Type.Composite([
  UserDetails,
  Type.Object({ access: Type.Array(BlockAccessEntry, { description: 'Every block of this server the caller may call, and why (with a scoped API key: what that key may call).' }) }),
])

export const meRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { blockNames, publicBlocks }) => {
  app.get(
    '/me',
    {
      schema: {
        tags: ['auth'],
        summary: 'Who am I: the user behind this token or key, and the blocks they may call and why',
        operationId: 'get_me',
        response: { 200: described(MeReply, 'The caller: id, name, role, own grants, and access: each block they may call and through what.') },
      },
    },
    async (request) => {
      const { userId, username, role, blocks, rights, scope } = request.principal!
      // With a scoped API key: what this key may call (its scope ∩ the owner's rights), not the owner.
      const effective = scope ? rights.within(scope) : rights
      const access = blockNames().flatMap((block) => {
        const via: string[] = effective.via(block)
        if (publicBlocks.has(block)) via.push('public')
        return via.length > 0 ? [{ block, via }] : []
      })
      return { user_id: userId, username, role, blocks: [...blocks], access }
    },
  )
}
