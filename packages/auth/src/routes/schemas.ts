import { Type, type Static } from '@sinclair/typebox'
import { BadInput } from '@mlblocks/core'
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN } from '../settings.js'

export const Role = Type.Union([Type.Literal('admin'), Type.Literal('user')])
export const Username = Type.String({ pattern: USERNAME_PATTERN, description: '1-64 letters, digits or . _ @ -' })
export const NewPassword = Type.String({
  minLength: PASSWORD_MIN,
  maxLength: PASSWORD_MAX,
  description: `${PASSWORD_MIN} to ${PASSWORD_MAX} characters`,
})
/** A block name, or `*` for all. */
export const BlockName = Type.String({ pattern: '^(\\*|[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)$' })
export const BlockGrants = Type.Array(BlockName, {
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

/**
 * An RFC 3339 date-time (already checked by the schema) as a Date, or a 400 naming `field`. A leap
 * second (`23:59:60`), valid RFC 3339 that JavaScript cannot parse, is the next second; years
 * outside 0001-9999 are refused (the database cannot store year 0).
 */
export function parseTimestamp(field: string, value: string): Date {
  const leap = /^(.*T\d\d:\d\d:)60(.*)$/i.exec(value)
  const date = new Date(leap ? `${leap[1]}59${leap[2]}` : value)
  if (leap) date.setTime(date.getTime() + 1000)
  const year = date.getUTCFullYear()
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999) {
    throw new BadInput(`${field} must be an RFC 3339 date-time between the years 0001 and 9999, e.g. 2030-01-31T12:00:00Z; got '${value.slice(0, 40)}'.`)
  }
  return date
}

/** The largest event id the API accepts (JSON numbers are exact up to here). */
export const MAX_EVENT_ID = Number.MAX_SAFE_INTEGER
