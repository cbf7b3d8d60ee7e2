import { sql } from 'drizzle-orm'
import { bigint, bigserial, boolean, index, integer, pgSchema, primaryKey, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'

/** Auth owns its own Postgres schema, so it never collides with an application's tables. */
export const authSchema = pgSchema('mlblocks_auth')

/** `service`: an account that holds API keys and never logs in (no password). */
export const role = authSchema.enum('role', ['admin', 'user', 'service'])

export const users = authSchema.table(
  'users',
  {
  userId: uuid('user_id').primaryKey().defaultRandom(),
  /** Unique without regard to case (the `users_username_lower_idx` index): `Admin` and `admin` cannot both exist. */
  username: text('username').notNull().unique(),
  /** Null for service accounts, which never log in. */
  hashedPassword: text('hashed_password'),
  role: role('role').notNull().default('user'),
  /** Block names this user may call; `{*}` for all. Admins reach every block whatever this says. */
  blocks: text('blocks').array().notNull().default(sql`'{*}'::text[]`),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  disabled: boolean('disabled').notNull().default(false),
  /**
   * Bumped by every change of password, role, grants, disabled or deletion. A login reads it before
   * argon2 and writes its token only if it is still the same (see Tokens.issue), so that a change
   * ends every session issued before it, even one whose login was in flight.
   */
  credentialsVersion: integer('credentials_version').notNull().default(1),
  },
  (t) => [uniqueIndex('users_username_lower_idx').on(sql`lower(${t.username})`)],
)

/** One row per login token (the JWT's `jti`), so that a token can be revoked before it expires. */
export const tokens = authSchema.table(
  'tokens',
  {
    tokenId: uuid('token_id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.userId, { onDelete: 'cascade' }),
    expirationDate: timestamp('expiration_date', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('tokens_user_id_idx').on(t.userId)],
)

/** API keys are stored as a SHA-256 hash, found by its unique index; only a short prefix is shown. */
export const apiKeys = authSchema.table(
  'api_keys',
  {
    keyId: uuid('key_id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.userId, { onDelete: 'cascade' }),
    keyHash: text('key_hash').notNull().unique(),
    prefix: text('prefix').notNull(),
    /** True for keys with a CRC32 checksum (`mlb_` + 30 + 6 characters); false for keys issued before (43 characters, no checksum). */
    checksummed: boolean('checksummed').notNull().default(true),
    expirationDate: timestamp('expiration_date', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** A label its owner chose (`ci`, `grafana`), shown in listings. */
    name: text('name'),
    /** The key's scope: null means all its owner's blocks; either way intersected with the owner's rights at request time. */
    blocks: text('blocks').array(),
    /** Who issued it (no foreign key: a key outlives the person who issued it), and their name then. */
    issuedBy: uuid('issued_by'),
    issuedByName: text('issued_by_name'),
    rotatedAt: timestamp('rotated_at', { withTimezone: true }),
    /** The secret before the last rotation, working until `previous_valid_until` (the grace), then cleared. */
    previousKeyHash: text('previous_key_hash').unique(),
    previousPrefix: text('previous_prefix'),
    previousChecksummed: boolean('previous_checksummed'),
    previousValidUntil: timestamp('previous_valid_until', { withTimezone: true }),
  },
  (t) => [index('api_keys_user_id_idx').on(t.userId)],
)

/**
 * Security events: who did what to whom, from where, under which request id. Never a password,
 * token or key. No foreign keys: events outlive the users they mention.
 */
export const auditEvents = authSchema.table(
  'audit_events',
  {
    eventId: bigserial('event_id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    action: text('action').notNull(),
    actorId: uuid('actor_id'),
    actorName: text('actor_name'),
    target: text('target'),
    status: smallint('status'),
    clientAddress: text('client_address'),
    requestId: text('request_id'),
    /** How many events this row stands for: denials are aggregated per address, action, route and minute. */
    count: integer('count').notNull().default(1),
    /** Aggregated rows only: `address|action|target|status|actor|minute`, so that one minute's denials add up in one row. */
    bucket: text('bucket').unique(),
  },
  (t) => [index('audit_events_at_idx').on(t.at), index('audit_events_actor_idx').on(t.actorId, t.at), index('audit_events_action_idx').on(t.action, t.at)],
)

/**
 * Usage per user, API key, block and hour: counters that every instance adds to in batches
 * (`services/usage.ts`), never a row per request. `key_id` is '' for requests made with a login
 * token. No foreign keys: usage outlives the users and keys it counts; pruned with the audit log.
 */
export const usage = authSchema.table(
  'usage',
  {
    userId: uuid('user_id').notNull(),
    keyId: text('key_id').notNull().default(''),
    block: text('block').notNull(),
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    requests: bigint('requests', { mode: 'number' }).notNull().default(0),
    errors: bigint('errors', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.userId, t.keyId, t.block, t.hour] }), index('usage_hour_idx').on(t.hour)],
)

/** Groups of users (migration 0004_groups): a member may call the group's blocks besides their own. */
export const groups = authSchema.table(
  'groups',
  {
    groupId: uuid('group_id').primaryKey().defaultRandom(),
    /** Unique without regard to case (`groups_name_lower_idx`); `GET /me` names it as `group:<name>`. */
    name: text('name').notNull(),
    /** Block names the members may call; `{*}` for all. */
    blocks: text('blocks').array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('groups_name_lower_idx').on(sql`lower(${t.name})`)],
)

/** Who is in which group; deleting the group or the user removes the row. */
export const groupMembers = authSchema.table(
  'group_members',
  {
    groupId: uuid('group_id')
      .notNull()
      .references(() => groups.groupId, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.userId, { onDelete: 'cascade' }),
    addedAt: timestamp('added_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.userId] }), index('group_members_user_id_idx').on(t.userId)],
)

export type UserRow = typeof users.$inferSelect
export type AuditEventRow = typeof auditEvents.$inferSelect
export type ApiKeyRow = typeof apiKeys.$inferSelect
export type Role = UserRow['role']
export type GroupRow = typeof groups.$inferSelect
