import { asc, eq, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { groupMembers, groups, users, type GroupRow } from '../db/schema.js'
import { GroupNameTaken, GroupNotFound, UserNotFound } from '../errors.js'
import { groupsOf, type GroupGrant } from './access.js'
import { pgCode, UNIQUE_VIOLATION } from '../db/errors.js'

export interface GroupChanges {
  name?: string
  blocks?: readonly string[]
}

/** A group and its members' ids. */
export type GroupWithMembers = GroupRow & { members: string[] }

/** What changed in a group, for the caches: every member's cached principal, or one user's. */
export interface GroupEvents {
  /** The group's grants or name changed, or it was deleted: drop the principals that hold it. */
  groupChanged(groupId: string): void
  /** A user joined or left a group: drop their principals. */
  memberChanged(userId: string): void
}

/**
 * Groups of users with block grants. A member may call the group's blocks besides their own
 * (services/access.ts joins them); each change reaches the cached credentials at once, on every
 * instance (the revocation channel), so a removed grant stops working within a second.
 */
export class Groups {
  constructor(
    private readonly db: Db,
    private readonly events: GroupEvents,
  ) {}

  /** The groups a user is in, with their grants (for a login's `user_details`). */
  memberOf(userId: string): Promise<GroupGrant[]> {
    return groupsOf(this.db, userId)
  }

  async create(name: string, blocks: readonly string[]): Promise<GroupRow> {
    try {
      const [row] = await this.db.insert(groups).values({ name, blocks: [...blocks] }).returning()
      return row!
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new GroupNameTaken(name)
      throw err
    }
  }

  async list(): Promise<GroupWithMembers[]> {
    const [rows, members] = await Promise.all([
      this.db.select().from(groups).orderBy(asc(groups.name)),
      this.db.select({ groupId: groupMembers.groupId, userId: groupMembers.userId }).from(groupMembers).orderBy(asc(groupMembers.addedAt), asc(groupMembers.userId)),
    ])
    const byGroup = new Map<string, string[]>()
    for (const m of members) byGroup.set(m.groupId, [...(byGroup.get(m.groupId) ?? []), m.userId])
    return rows.map((row) => ({ ...row, members: byGroup.get(row.groupId) ?? [] }))
  }

  async get(groupId: string): Promise<GroupWithMembers> {
    const [row] = await this.db.select().from(groups).where(eq(groups.groupId, groupId))
    if (!row) throw new GroupNotFound(groupId)
    const members = await this.db
      .select({ userId: groupMembers.userId })
      .from(groupMembers)
      .where(eq(groupMembers.groupId, groupId))
      .orderBy(asc(groupMembers.addedAt), asc(groupMembers.userId))
    return { ...row, members: members.map((m) => m.userId) }
  }

  async update(groupId: string, changes: GroupChanges): Promise<GroupWithMembers> {
    let row: GroupRow | undefined
    try {
      ;[row] = await this.db
        .update(groups)
        .set({ ...(changes.name === undefined ? {} : { name: changes.name }), ...(changes.blocks === undefined ? {} : { blocks: [...changes.blocks] }) })
        .where(eq(groups.groupId, groupId))
        .returning()
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new GroupNameTaken(changes.name ?? '')
      throw err
    }
    if (!row) throw new GroupNotFound(groupId)
    this.events.groupChanged(groupId)
    return this.get(groupId)
  }

  /** Deletes the group: its members lose its grants at once (the memberships go with it). */
  async remove(groupId: string): Promise<void> {
    const gone = await this.db.delete(groups).where(eq(groups.groupId, groupId)).returning({ groupId: groups.groupId })
    if (gone.length === 0) throw new GroupNotFound(groupId)
    this.events.groupChanged(groupId)
  }

  /**
   * Adds a member; adding one again is harmless. Written only if both the group and the user still
   * exist, in one statement: a deletion in flight is a 404, never a foreign-key error.
   */
  async addMember(groupId: string, userId: string): Promise<void> {
    await this.db.execute(sql`insert into ${groupMembers} (group_id, user_id)
      select ${groups.groupId}, ${users.userId} from ${groups}, ${users}
      where ${groups.groupId} = ${groupId}::uuid and ${users.userId} = ${userId}::uuid
      for share
      on conflict do nothing`)
    await this.#mustExist(groupId, userId)
    this.events.memberChanged(userId)
  }

  /** Removes a member; removing one who is not in the group is harmless (both must exist). */
  async removeMember(groupId: string, userId: string): Promise<void> {
    await this.db.delete(groupMembers).where(sql`${groupMembers.groupId} = ${groupId}::uuid and ${groupMembers.userId} = ${userId}::uuid`)
    await this.#mustExist(groupId, userId)
    this.events.memberChanged(userId)
  }

  async #mustExist(groupId: string, userId: string): Promise<void> {
    const [group] = await this.db.select({ id: groups.groupId }).from(groups).where(eq(groups.groupId, groupId))
    if (!group) throw new GroupNotFound(groupId)
    const [user] = await this.db.select({ id: users.userId }).from(users).where(eq(users.userId, userId))
    if (!user) throw new UserNotFound(userId)
  }
}
