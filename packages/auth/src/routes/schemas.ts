import { Type, type Static } from '@sinclair/typebox'
import { BadInput } from '@mlblocks/core'
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN } from '../settings.js'

export const Role = Type.Union([Type.Literal('admin'), Type.Literal('user'), Type.Literal('service')], {
  description: '`service`: no password, never logs in, holds API keys.',
})
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

const DateOrNull = Type.Union([Type.String({ format: 'date-time' }), Type.Null()])

export const ApiKeyRecord = Type.Object({
  key_id: Type.String({ description: 'Stays the same across rotations.' }),
  user_id: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  prefix: Type.String({ description: 'The first characters of the key, to tell keys apart.' }),
  blocks: Type.Union([Type.Array(Type.String()), Type.Null()], { description: "The key's scope; null: all its owner's blocks. Always within the owner's current rights." }),
  expiration_date: DateOrNull,
  created_at: Type.String({ format: 'date-time' }),
  revoked_at: DateOrNull,
  last_used_at: DateOrNull,
  issued_by: Type.Union([Type.Object({ user_id: Type.Union([Type.String(), Type.Null()]), username: Type.String() }), Type.Null()], {
    description: 'Who issued it (null for keys issued before this was recorded).',
  }),
  rotated_at: DateOrNull,
  previous_prefix: Type.Union([Type.String(), Type.Null()], { description: 'The old secret of the last rotation, while its grace lasts.' }),
  previous_valid_until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the old secret stops working.' }),
})

/** A key's scope: block names (or `["*"]`: all of its owner's). */
export const KeyScope = Type.Array(Type.String({ pattern: '^(\\*|[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)$' }), {
  minItems: 1,
  maxItems: 1000,
  description: 'The blocks this key may call, within its owner\'s rights at each request; ["*"] or absent: all of the owner\'s.',
})
export const KeyName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f\\u007f]+$', description: 'A label: 1-64 characters, no control characters.' })

export const CreatedApiKey = Type.Object({
  api_key: Type.String({ description: 'Shown this once: store it now.' }),
  key_id: Type.String(),
  user_id: Type.String(),
  expiration_date: DateOrNull,
  name: Type.Union([Type.String(), Type.Null()]),
  blocks: Type.Union([Type.Array(Type.String()), Type.Null()]),
}, {
  examples: [
    {
      api_key: 'mlb_ExampleOnlyNotAKey000000000000000000',
      key_id: '9b0e6c1d-52a4-4f3e-8d27-6a1f0c4b7e93',
      user_id: '3f1c9a52-7b2e-4d1a-9c55-0e8a4b6f2d17',
      expiration_date: '2027-06-30T00:00:00.000Z',
      name: 'nightly-etl',
      blocks: ['zero-shot-classification'],
    },
  ],
})

export const RotateBody = Type.Object(
  {
    grace_seconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 86_400, description: 'How long the old secret keeps working (0 to 86400 seconds). Default 0: it stops now.' }),
    ),
  },
  { additionalProperties: false },
)
export const RotatedApiKey = Type.Object({
  api_key: Type.String({ description: 'The new secret, shown this once.' }),
  key_id: Type.String({ description: 'The same key id as before.' }),
  user_id: Type.String(),
  expiration_date: DateOrNull,
  previous_valid_until: DateOrNull,
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
