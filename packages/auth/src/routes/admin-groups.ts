import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { described, ErrorReply } from '@mlblocks/core'
import type { GroupRow } from '../db/schema.js'
import { adminOnly } from '../hooks/protect-routes.js'
import type { GroupWithMembers } from '../services/groups.js'
import type { RouteDeps } from './deps.js'
import { BlockName, Id } from './schemas.js'

export const GroupName = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: '1-64 letters, digits or . _ - (unique, case ignored)' })
const GroupBlocks = Type.Array(BlockName, { maxItems: 1000, description: 'Block names the members may call; ["*"] for all; [] for none (yet).' })

export const CreateGroupBody = Type.Object({ name: GroupName, blocks: GroupBlocks }, { additionalProperties: false })
export const UpdateGroupBody = Type.Object(
  { name: Type.Optional(GroupName), blocks: Type.Optional(GroupBlocks) },
  { additionalProperties: false, minProperties: 1 },
)
export const CreatedGroup = Type.Object({ group_id: Type.String(), name: Type.String(), blocks: Type.Array(Type.String()) })
export const GroupRecord = Type.Object({
  group_id: Type.String(),
  name: Type.String(),
  blocks: Type.Array(Type.String()),
  members: Type.Array(Type.String({ format: 'uuid' }), { description: 'The user ids of the members.' }),
  created_at: Type.String({ format: 'date-time' }),
})
const MemberParams = Type.Object({ id: Type.String({ format: 'uuid' }), user_id: Type.String({ format: 'uuid' }) })

const toCreated = (g: GroupRow) => ({ group_id: g.groupId, name: g.name, blocks: g.blocks })
const toRecord = (g: GroupWithMembers) => ({ ...toCreated(g), members: g.members, created_at: g.createdAt.toISOString() })

export const adminGroupRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { groups, audit }) => {
  adminOnly(app, audit)

  app.post(
    '/admin/groups',
    {
      schema: {
        tags: ['admin'],
        operationId: 'create_group',
        summary: 'Create a group with block grants',
        body: CreateGroupBody,
        response: { 201: described(CreatedGroup, 'The group was created.'), 400: ErrorReply, 409: described(ErrorReply, 'A group of that name exists (MLB_GROUP_NAME_TAKEN); names match without regard to case.') },
      },
    },
    async (request, reply) => {
      const group = await groups.create(request.body.name, request.body.blocks)
      audit.record(request, { action: 'group.created', actor: request.principal, target: group.groupId })
      return reply.code(201).send(toCreated(group))
    },
  )

  app.get(
    '/admin/groups',
    { schema: { tags: ['admin'], operationId: 'list_groups', summary: 'List groups, with their grants and members', response: { 200: described(Type.Array(GroupRecord), 'Every group, with its grants and its members’ user ids.') } } },
    async () => (await groups.list()).map(toRecord),
  )

  app.get(
    '/admin/groups/:id',
    {
      schema: { tags: ['admin'], operationId: 'get_group', summary: 'One group, with its grants and members', params: Id, response: { 200: described(GroupRecord, 'The group, with its grants and members.'), 400: ErrorReply, 404: described(ErrorReply, 'No group with that id (MLB_GROUP_NOT_FOUND).') } },
    },
    async (request) => toRecord(await groups.get(request.params.id)),
  )

  app.patch(
    '/admin/groups/:id',
    {
      schema: {
        tags: ['admin'],
        operationId: 'update_group',
        summary: 'Rename a group or change its grants: every member’s tokens and keys see it at once, on every instance',
        params: Id,
        body: UpdateGroupBody,
        response: { 200: described(GroupRecord, 'The group as changed: every member’s tokens and keys see it at once.'), 400: ErrorReply, 404: described(ErrorReply, 'No group with that id (MLB_GROUP_NOT_FOUND).'), 409: described(ErrorReply, 'A group of that name exists (MLB_GROUP_NAME_TAKEN).') },
      },
    },
    async (request) => {
      const group = await groups.update(request.params.id, request.body)
      audit.record(request, { action: 'group.changed', actor: request.principal, target: group.groupId })
      return toRecord(group)
    },
  )

  app.delete(
    '/admin/groups/:id',
    {
      schema: {
        tags: ['admin'],
        operationId: 'delete_group',
        summary: 'Delete a group: its members lose its grants at once',
        params: Id,
        response: { 204: Type.Null({ description: 'Done, on every instance.' }), 400: ErrorReply, 404: described(ErrorReply, 'No such group or user.') },
      },
    },
    async (request, reply) => {
      await groups.remove(request.params.id)
      audit.record(request, { action: 'group.deleted', actor: request.principal, target: request.params.id })
      return reply.code(204).send(null)
    },
  )

  app.put(
    '/admin/groups/:id/members/:user_id',
    {
      schema: {
        tags: ['admin'],
        operationId: 'add_group_member',
        summary: 'Add a user to a group (adding again is harmless)',
        params: MemberParams,
        response: { 204: Type.Null({ description: 'Done, on every instance.' }), 400: ErrorReply, 404: described(ErrorReply, 'No such group or user.') },
      },
    },
    async (request, reply) => {
      await groups.addMember(request.params.id, request.params.user_id)
      audit.record(request, { action: 'group.member_added', actor: request.principal, target: `${request.params.id} ${request.params.user_id}` })
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/admin/groups/:id/members/:user_id',
    {
      schema: {
        tags: ['admin'],
        operationId: 'remove_group_member',
        summary: 'Remove a user from a group: they lose its grants at once',
        params: MemberParams,
        response: { 204: Type.Null({ description: 'Done, on every instance.' }), 400: ErrorReply, 404: described(ErrorReply, 'No such group or user.') },
      },
    },
    async (request, reply) => {
      await groups.removeMember(request.params.id, request.params.user_id)
      audit.record(request, { action: 'group.member_removed', actor: request.principal, target: `${request.params.id} ${request.params.user_id}` })
      return reply.code(204).send(null)
    },
  )
}
