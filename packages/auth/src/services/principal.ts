import type { Role, UserRow } from '../db/schema.js'

/** Who is calling, once their credential checked out. */
export interface Principal {
  userId: string
  username: string
  role: Role
  blocks: readonly string[]
  via: 'token' | 'api_key'
  /** The token id (JWT `jti`) or the API key id. */
  credentialId: string
}

/** Admins reach every block; a user the blocks granted to them, `*` meaning all. */
export function mayCall(principal: Pick<Principal, 'role' | 'blocks'>, block: string): boolean {
  return principal.role === 'admin' || principal.blocks.includes('*') || principal.blocks.includes(block)
}

/** SPEC's `user_details`. */
export const toUserDetails = (u: Pick<UserRow, 'userId' | 'username' | 'role' | 'blocks'>) => ({
  user_id: u.userId,
  username: u.username,
  role: u.role,
  blocks: u.blocks,
})

/** What admins see of a user: never the hash. */
export const toUserRecord = (u: UserRow) => ({
  ...toUserDetails(u),
  creation_date: u.createdAt.toISOString(),
  disabled: u.disabled,
})
