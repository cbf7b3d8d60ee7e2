import { asc, eq, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { groupMembers, groups, type Role } from '../db/schema.js'

/** Why a block may be called: the user's own grant, one of their groups', or being an admin. */
export type Via = 'own' | `group:${string}` | 'admin'

/** One source of rights: the blocks it grants (`*` for all) and what it is. */
export interface Grant {
  via: Via
  blocks: readonly string[]
  /** For a group's grant: the group's id (a change to the group drops the cached principals that hold it). */
  groupId?: string
}

/** A group a user belongs to, as the credential lookups read it. */
export interface GroupGrant {
  group_id: string
  name: string
  blocks: string[]
}

/**
 * What a user may call: their own grants joined with those of their groups; an admin, everything.
 * The one place rights are computed (credential checks, `GET /me`, `POST /admin/access/check`); an
 * API key's scope narrows them with `within()`.
 */
export class Rights {
  constructor(
    readonly grants: readonly Grant[],
    /** An admin reaches every block, whatever the grants say. */
    readonly admin: boolean,
  ) {}

  /** Whether `block` may be called. */
  allows(block: string): boolean {
    return this.admin || this.grants.some((g) => grantsBlock(g, block))
  }

  /** Every reason `block` may be called, admin first; empty when it may not. */
  via(block: string): Via[] {
    const reasons: Via[] = this.admin ? ['admin'] : []
    for (const grant of this.grants) if (grantsBlock(grant, block) && !reasons.includes(grant.via)) reasons.push(grant.via)
    return reasons
  }

  /** The blocks granted, own and groups' (`["*"]` when any grant is all); an admin's reach is `admin`, not this list. */
  blocks(): string[] {
    const all = new Set<string>()
    for (const grant of this.grants) for (const block of grant.blocks) all.add(block)
    return all.has('*') ? ['*'] : [...all].sort()
  }

  /** Whether a grant of this group is among these rights (its change must drop them from caches). */
  hasGroup(groupId: string): boolean {
    return this.grants.some((g) => g.groupId === groupId)
  }

  /**
   * These rights narrowed to `scope` (an API key's `blocks`; `null` means all of these rights):
   * what is left is allowed only where both allow it, so shrinking the owner's rights shrinks the key.
   */
  within(scope: readonly string[] | null): Rights {
    if (scope === null || scope.includes('*')) return this
    const narrowed: Grant[] = []
    for (const grant of this.admin ? [{ via: 'admin' as const, blocks: ['*'] }, ...this.grants] : this.grants) {
      const blocks = grant.blocks.includes('*') ? [...scope] : grant.blocks.filter((b) => scope.includes(b))
      if (blocks.length > 0) narrowed.push({ ...grant, blocks })
    }
    return new Rights(narrowed, false)
  }
}

const grantsBlock = (grant: Grant, block: string) => grant.blocks.includes('*') || grant.blocks.includes(block)

/** A user's rights: admin = all; otherwise their own grants joined with their groups'. */
export function rightsOf(user: { role: Role; blocks: readonly string[] }, memberOf: readonly GroupGrant[]): Rights {
  const grants: Grant[] = []
  if (user.blocks.length > 0) grants.push({ via: 'own', blocks: user.blocks })
  // Every group, even one that grants nothing yet: a change to it must find its members' cached principals.
  for (const group of memberOf) grants.push({ via: `group:${group.name}`, blocks: group.blocks, groupId: group.group_id })
  return new Rights(grants, user.role === 'admin')
}

/**
 * The groups of the user in the row `userId` points at, as one JSON array: a column of the credential
 * lookups (one query per lookup, groups included), and of `groupsOf`.
 */
export const groupGrantsOf = (userId: unknown) =>
  sql<GroupGrant[] | string>`(select coalesce(json_agg(json_build_object('group_id', ${groups.groupId}, 'name', ${groups.name}, 'blocks', ${groups.blocks}) order by ${groups.name}), '[]'::json)
    from ${groupMembers} join ${groups} on ${groups.groupId} = ${groupMembers.groupId} where ${groupMembers.userId} = ${userId})`

/** The JSON column above as rows (the driver may hand json over as text). */
export const parseGroupGrants = (value: GroupGrant[] | string | null | undefined): GroupGrant[] =>
  value == null ? [] : typeof value === 'string' ? (JSON.parse(value) as GroupGrant[]) : value

/** The groups a user is in (for `POST /admin/access/check`). */
export async function groupsOf(db: Db, userId: string): Promise<GroupGrant[]> {
  const rows = await db
    .select({ group_id: groups.groupId, name: groups.name, blocks: groups.blocks })
    .from(groupMembers)
    .innerJoin(groups, eq(groups.groupId, groupMembers.groupId))
    .where(eq(groupMembers.userId, userId))
    .orderBy(asc(groups.name))
  return rows
}
