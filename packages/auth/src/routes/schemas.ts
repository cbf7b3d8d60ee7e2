import { Type, type Static } from '@sinclair/typebox'
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN } from '../settings.js'

export const Role = Type.Union([Type.Literal('admin'), Type.Literal('user')])
export const Username = Type.String({ pattern: USERNAME_PATTERN, description: '1-64 letters, digits or . _ @ -' })
export const NewPassword = Type.String({
  minLength: PASSWORD_MIN,
  maxLength: PASSWORD_MAX,
  description: `${PASSWORD_MIN} to ${PASSWORD_MAX} characters`,
})
export const BlockGrants = Type.Array(Type.String({ pattern: '^(\\*|[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)$' }), {
  maxItems: 1000,
  description: 'Block names this user may call; ["*"] for all.',
})
export const Id = Type.Object({ id: Type.String({ format: 'uuid' }) })

export const UserDetails = Type.Object({ user_id: Type.String(), username: Type.String(), role: Role, blocks: Type.Array(Type.String()) })
export type UserDetails = Static<typeof UserDetails>

export const UserRecord = Type.Object({
  user_id: Type.String(),
  username: Type.String(),
  creation_date: Type.String({ format: 'date-time' }),
  role: Role,
  blocks: Type.Array(Type.String()),
  disabled: Type.Boolean(),
})

export const ApiKeyRecord = Type.Object({
  key_id: Type.String(),
  user_id: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key, to tell keys apart.' }),
  expiration_date: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
})
