import { eq } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { apiKeys, users, type ApiKeyRow, type UserRow } from '../db/schema.js'
import { groupsOf, rightsOf, type Rights, type Via } from './access.js'

/** The answer of `POST /admin/access/check`: whether the call would go through, and what decided it. */
export interface AccessAnswer {
  allowed: boolean
  reason: string
  /** What grants it (empty when not allowed): `admin`, `own`, `group:<name>`, or `public`. */
  via: Array<Via | 'public'>
}

/**
 * THE key-scope step: an API key's rights are its owner's rights narrowed by the key's `blocks`
 * scope (null: all of the owner's), as the credential check applies them (`mayCall`).
 */
export function keyRights(owner: Rights, key: Pick<ApiKeyRow, 'blocks'>): { rights: Rights; scope: readonly string[] | null } {
  if (key.blocks === null || key.blocks.includes('*')) return { rights: owner, scope: null }
  return { rights: owner.within(key.blocks), scope: key.blocks }
}

const list = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ')

/** Explains, in a sentence an admin can act on, whether a user or a key may call a block and why. */
export class AccessCheck {
  constructor(
    private readonly db: Db,
    private readonly publicBlocks: ReadonlySet<string>,
  ) {}

  async forUser(userId: string, block: string): Promise<AccessAnswer> {
    const [user] = await this.db.select().from(users).where(eq(users.userId, userId))
    if (!user) return { allowed: false, reason: `No user with id '${userId}': nobody would be let in.`, via: [] }
    return this.#decide(`User '${user.username}'`, user, block, null)
  }

  async forKey(keyId: string, block: string): Promise<AccessAnswer> {
    const [row] = await this.db.select({ key: apiKeys, user: users }).from(apiKeys).innerJoin(users, eq(users.userId, apiKeys.userId)).where(eq(apiKeys.keyId, keyId))
    if (!row) return { allowed: false, reason: `No API key with id '${keyId}': a request with it gets 401.`, via: [] }
    const { key, user } = row
    const name = `API key '${key.keyId}' (${key.prefix}…, of user '${user.username}')`
    if (key.revokedAt) return { allowed: false, reason: `${name} was revoked at ${key.revokedAt.toISOString()}: a request with it gets 401.`, via: [] }
    if (key.expirationDate && key.expirationDate.getTime() <= Date.now()) {
      return { allowed: false, reason: `${name} expired at ${key.expirationDate.toISOString()}: a request with it gets 401.`, via: [] }
    }
    return this.#decide(name, user, block, key)
  }

  async #decide(who: string, user: UserRow, block: string, key: ApiKeyRow | null): Promise<AccessAnswer> {
    if (user.disabled) return { allowed: false, reason: `${key ? `${who}: its owner` : who} is disabled: every request gets 401 until an admin enables the user again.`, via: [] }
    const memberOf = await groupsOf(this.db, user.userId)
    const owner = rightsOf(user, memberOf)
    const { rights, scope } = key ? keyRights(owner, key) : { rights: owner, scope: null }
    const granted = rights.via(block)
    const isPublic = this.publicBlocks.has(block)
    const within = scope === null ? '' : `, and the key's scope (${list(scope)}) includes it`
    if (granted.length > 0) return { allowed: true, reason: `${who} may call '${block}': ${granted.map((v) => describeVia(v, user, block)).join('; ')}${within}.`, via: isPublic ? [...granted, 'public'] : granted }
    if (isPublic) return { allowed: true, reason: `'${block}' is a public block (AUTH_PUBLIC_BLOCKS): anyone may call it, with or without a credential.`, via: ['public'] }
    if (scope !== null && owner.allows(block)) {
      return { allowed: false, reason: `${who} is scoped to ${list(scope)}, which leaves out '${block}' (its owner may call it; 403 MLB_BLOCK_NOT_GRANTED): issue a key whose blocks include it.`, via: [] }
    }
    const groupNames = memberOf.map((g) => g.name)
    const groupsPart = groupNames.length === 0 ? 'is in no group' : `is in ${groupNames.length === 1 ? 'group' : 'groups'} ${list(groupNames)}, none of which grants it`
    return {
      allowed: false,
      reason: `${who} may not call '${block}' (403 MLB_BLOCK_NOT_GRANTED): ${key ? 'its owner' : 'the user'} is not an admin, their own blocks (${user.blocks.length === 0 ? 'none' : list(user.blocks)}) do not include it, and ${key ? 'the owner' : 'the user'} ${groupsPart}. Grant it with PATCH /admin/users/${user.userId}, or add them to a group that has it.`,
      via: [],
    }
  }
}

function describeVia(via: Via, user: UserRow, block: string): string {
  if (via === 'admin') return `'${user.username}' is an admin, and admins reach every block`
  if (via === 'own') return user.blocks.includes('*') ? `the user's own grant of all blocks (*)` : `the user's own grant of '${block}'`
  return `group '${via.slice('group:'.length)}' grants it`
}
