import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BadInput, described, ErrorReply } from '@mlblocks/core'
import { LoneSurrogate } from '../errors.js'
import { adminOnly } from '../hooks/protect-routes.js'
import { wellFormed } from '../services/passwords.js'
import { toUserRecord } from '../services/principal.js'
import type { RouteDeps } from './deps.js'
import { BlockGrants, Id, NewPassword, Role, Username, UserRecord } from './schemas.js'

export const CreateUserBody = Type.Object(
  {
    username: Username,
    /** Required, except for role `service` (which has none). */
    password: Type.Optional(NewPassword),
    role: Role,
    blocks: Type.Optional(BlockGrants),
  },
  { additionalProperties: false },
)
/** SPEC's answer to POST /admin/users: the user record without `disabled` (a new user never is). */
export const CreatedUser = Type.Omit(UserRecord, ['disabled'])
export const UpdateUserBody = Type.Object(
  { role: Type.Optional(Role), password: Type.Optional(NewPassword), blocks: Type.Optional(BlockGrants), disabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
)

const notFound = described(ErrorReply, 'No user with that id (MLB_USER_NOT_FOUND).')
const lastAdmin = described(ErrorReply, 'It would leave no active admin (MLB_LAST_ADMIN): create or promote another admin first.')
const userRecord = described(UserRecord, 'The user, as it is now (never a password hash).')
const done = Type.Null({ description: 'Done.' })

export const adminUserRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { users, audit, limits, publishUnlock }) => {
  adminOnly(app, audit)

  app.post(
    '/admin/users',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create a user (blocks default to ["*"])',
        operationId: 'create_user',
        body: CreateUserBody,
        response: {
          201: described(CreatedUser, 'The user was created.'),
          400: ErrorReply,
          409: described(ErrorReply, 'The username is taken (MLB_USERNAME_TAKEN); usernames match without regard to case.'),
        },
      },
    },
    async (request, reply) => {
      const { password } = request.body
      if (request.body.role === 'service' && password !== undefined) {
        throw new BadInput('body.password: a service account has no password and never logs in; leave it out, and issue it API keys (POST /admin/apikeys).')
      }
      if (request.body.role !== 'service' && password === undefined) throw new BadInput(`body.password is required for role '${request.body.role}' (only role 'service' has none).`)
      if (password !== undefined && !wellFormed(password)) throw new LoneSurrogate('body.password')
      const { creation_date, user_id, username, role, blocks } = toUserRecord(await users.create(request.body))
      audit.record(request, { action: 'user.created', actor: request.principal, target: user_id })
      return reply.code(201).send({ user_id, username, creation_date, role, blocks })
    },
  )

  app.get(
    '/admin/users',
    { schema: { tags: ['admin'], summary: 'List users', operationId: 'list_users', response: { 200: described(Type.Array(UserRecord), 'Every user (never a password hash).') } } },
    async () => (await users.list()).map(toUserRecord),
  )

  app.get(
    '/admin/users/:id',
    { schema: { tags: ['admin'], summary: 'One user', operationId: 'get_user', params: Id, response: { 200: userRecord, 400: ErrorReply, 404: notFound } } },
    async (request) => toUserRecord(await users.get(request.params.id)),
  )

  app.patch(
    '/admin/users/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Change role, password, blocks or disabled; demoting, disabling or a new password revoke the user’s tokens and keys',
        operationId: 'update_user',
        params: Id,
        body: UpdateUserBody,
        response: { 200: userRecord, 400: ErrorReply, 404: notFound, 409: lastAdmin },
      },
    },
    async (request) => {
      if (request.body.password !== undefined && !wellFormed(request.body.password)) throw new LoneSurrogate('body.password')
      const updated = await users.update(request.params.id, request.body)
      const action = request.body.disabled === true ? 'user.disabled' : 'user.changed'
      audit.record(request, { action, actor: request.principal, target: updated.userId })
      return toUserRecord(updated)
    },
  )

  app.delete(
    '/admin/users/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Delete a user, with their tokens and keys',
        operationId: 'delete_user',
        params: Id,
        response: { 204: described(done, 'The user, their tokens and their keys are gone.'), 400: ErrorReply, 404: notFound, 409: lastAdmin },
      },
    },
    async (request, reply) => {
      await users.remove(request.params.id)
      audit.record(request, { action: 'user.deleted', actor: request.principal, target: request.params.id })
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/admin/users/:id/lockout',
    {
      schema: {
        tags: ['admin'],
        summary: 'Lift the user’s login back-off at once (on every instance)',
        operationId: 'unlock_user',
        params: Id,
        response: { 204: described(done, 'The back-off is lifted on every instance.'), 400: ErrorReply, 404: notFound },
      },
    },
    async (request, reply) => {
      const user = await users.get(request.params.id)
      await limits.unlock(user.username)
      publishUnlock(user.username)
      audit.record(request, { action: 'user.unlocked', actor: request.principal, target: user.userId })
      return reply.code(204).send(null)
    },
  )
}
