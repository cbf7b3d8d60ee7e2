import type { Role, UserRow } from '../db/schema.js'
import { rightsOf, type GroupGrant, type Rights } from './access.js'

/** Who is calling, once their credential checked out. */
export interface Principal {
  userId: string
  username: string
  role: Role
  /** The blocks granted, the user's own and their groups' (`["*"]` for all). */
  blocks: readonly string[]
  /** What the caller may call, and why (services/access.ts). */
  rights: Rights
  via: 'token' | 'api_key'
  /** The token id (JWT `jti`) or the API key id. */
  credentialId: string
}

/** Admins reach every block; a user the blocks granted to them or to their groups, `*` meaning all. */
export function mayCall(principal: Pick<Principal, 'rights'>, block: string): boolean {
  return principal.rights.allows(block)
}

/** The principal of a verified credential: the user's rights, their groups' included. */
export function principalOf(
  user: Pick<UserRow, 'userId' | 'username' | 'role' | 'blocks'>,
  memberOf: readonly GroupGrant[],
  via: Principal['via'],
  credentialId: string,
): Principal {
  const rights = rightsOf(user, memberOf)
  return { userId: user.userId, username: user.username, role: user.role, blocks: rights.blocks(), rights, via, credentialId }
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
