import type { Role, UserRow } from '../db/schema.js'
import { rightsOf, type GroupGrant, type Rights } from './access.js'

/** Who is calling, once their credential checked out. */
export interface Principal {
  userId: string
  username: string
  role: Role
  /** The blocks granted, the user's own and their groups' (`["*"]` for all). */
  blocks: readonly string[]
  /** What the owner may call, and why (services/access.ts); a key's scope narrows it in `mayCall`. */
  rights: Rights
  via: 'token' | 'api_key'
  /** The token id (JWT `jti`) or the API key id. */
  credentialId: string
  /** API keys: the key's scope (`blocks`), null (or absent) meaning all of its owner's. Tokens: absent. */
  scope?: readonly string[] | null
  /** API keys: when this secret stops working (its expiry, or the end of a rotation's grace); null: never. */
  keyExpiresAt?: Date | null
}

/** The owner's own rights: admins reach every block; a user the blocks granted to them or to their groups, `*` meaning all. */
export function ownerMayCall(principal: Pick<Principal, 'rights'>, block: string): boolean {
  return principal.rights.allows(block)
}

/** Whether a key's scope (null: all of its owner's) lets it call `block`. */
export const scopeAllows = (scope: readonly string[] | null | undefined, block: string): boolean => !scope || scope.includes('*') || scope.includes(block)

/**
 * THE rule for calling a block: the owner's current rights (own grants ∪ groups', admin = all), and
 * for an API key also its scope. A key's rights are therefore `key.blocks` (null: all the owner's) ∩
 * the owner's rights, evaluated at request time (the principal is the owner as the database has them
 * now; a change of grants or groups drops every cached principal of that owner, on every instance).
 */
export function mayCall(principal: Pick<Principal, 'rights' | 'scope'>, block: string): boolean {
  return ownerMayCall(principal, block) && scopeAllows(principal.scope, block)
}

/** Whether a principal is limited to some blocks beyond its owner's rights (a scoped API key). */
export const isScoped = (principal: Pick<Principal, 'scope'>): boolean => Array.isArray(principal.scope) && !principal.scope.includes('*')

/** The principal of a verified credential: the user's rights, their groups' included; for a key, its scope and expiry. */
export function principalOf(
  user: Pick<UserRow, 'userId' | 'username' | 'role' | 'blocks'>,
  memberOf: readonly GroupGrant[],
  via: Principal['via'],
  credentialId: string,
  key?: Pick<Principal, 'scope' | 'keyExpiresAt'>,
): Principal {
  const rights = rightsOf(user, memberOf)
  return { userId: user.userId, username: user.username, role: user.role, blocks: rights.blocks(), rights, via, credentialId, ...key }
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
