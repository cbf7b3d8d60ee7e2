import type { FastifyRequest } from 'fastify'
import { BadInput } from '@mlblocks/core'
import { parseTimestamp } from './schemas.js'

/** `expiration_date` of a new key as a Date (null: never), which must lie in the future and, when `maxTtlMs` is set, no later than that from now. */
export function keyExpiry(expirationDate: string | undefined, maxTtlMs: number | null = null): Date | null {
  const expires = expirationDate === undefined ? null : parseTimestamp('body.expiration_date', expirationDate)
  if (expires && expires.getTime() <= Date.now()) throw new BadInput('body.expiration_date must lie in the future.')
  if (maxTtlMs === null) return expires
  // A self-service key without a date gets the latest one allowed; a later one is refused.
  const latest = new Date(Date.now() + maxTtlMs)
  if (!expires) return latest
  if (expires.getTime() > latest.getTime()) {
    throw new BadInput(
      `body.expiration_date is later than this server allows for your own keys (AUTH_MAX_KEY_TTL is ${Math.round(maxTtlMs / 1000)} seconds): choose a date no later than ${latest.toISOString()}, or leave it out to get that one.`,
    )
  }
  return expires
}

/** What POST /admin/apikeys and POST /me/apikeys answer: the key this once. */
export const toCreatedKey = (key: string, row: { keyId: string; userId: string; expirationDate: Date | null; name: string | null; blocks: string[] | null }) => ({
  api_key: key,
  key_id: row.keyId,
  user_id: row.userId,
  expiration_date: row.expirationDate?.toISOString() ?? null,
  name: row.name,
  blocks: row.blocks,
})

/** What the rotate routes answer: the new secret this once, under the same key id. */
export const toRotatedKey = (key: string, row: { keyId: string; userId: string; expirationDate: Date | null; previousKeyHash: string | null; previousValidUntil: Date | null }) => ({
  api_key: key,
  key_id: row.keyId,
  user_id: row.userId,
  expiration_date: row.expirationDate?.toISOString() ?? null,
  previous_valid_until: row.previousKeyHash === null ? null : (row.previousValidUntil?.toISOString() ?? null),
})

/** A rotation may be sent without a body (all its fields are optional): validate it as `{}`. */
export async function noBodyIsEmpty(request: FastifyRequest): Promise<void> {
  request.body ??= {}
}
