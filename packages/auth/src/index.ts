import fastifyJwt from '@fastify/jwt'
import rateLimit from '@fastify/rate-limit'
import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify'
import { and, eq, sql } from 'drizzle-orm'
import fp from 'fastify-plugin'
import type { BlockAccess } from '@mlblocks/core'
import { openDatabase, type Db } from './db/client.js'
import { users } from './db/schema.js'
import { migrateDatabase } from './db/migrate.js'
import { RequestBudgetExceeded } from './errors.js'
import { logSummary, protectRoutes, type RouteAccess } from './hooks/protect-routes.js'
import { documentSecurity } from './openapi.js'
import { consoleRoutes } from './routes/console.js'
import { addressKey } from './services/client-address.js'
import { authRoutes } from './routes/index.js'
import { AccessCheck } from './services/access-check.js'
import { createAnonymousQuota } from './services/anonymous-quota.js'
import { ApiKeys } from './services/api-keys.js'
import { Audit } from './services/audit.js'
import { createLoginLimits } from './services/login-limits.js'
import { AuthMetrics } from './services/metrics.js'
import { connectRedis } from './redis.js'
import { Credentials, REVOCATIONS_CHANNEL, type Revocation } from './services/credentials.js'
import { withDeadline } from './db/errors.js'
import { Groups } from './services/groups.js'
import { preparePasswords } from './services/passwords.js'
import type { Principal } from './services/principal.js'
import { Tokens } from './services/tokens.js'
import { Usage } from './services/usage.js'
import { Users } from './services/users.js'
import { AuthSettingError, resolveSettings, type AuthOptions } from './settings.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: set on every route that is not public; `null` on public routes. */
    principal: Principal | null
  }
}

export type { AuthOptions, AuthSettings } from './settings.js'
export type { Principal } from './services/principal.js'
export type { Rights, Via } from './services/access.js'
export { authErrorCodes } from './errors.js'
export type { BlockAccess }

/** Whether any active admin exists (one indexed row at most). */
async function hasActiveAdmin(db: Db): Promise<boolean> {
  const rows = await db
    .select({ id: users.userId })
    .from(users)
    .where(and(eq(users.role, 'admin'), eq(users.disabled, false)))
    .limit(1)
  return rows.length > 0
}

/**
 * Users, login tokens, API keys, roles and per-block access for MLBlocks. Registered by core's
 * plugin registry only when auth is enabled; it then checks every route that is not public.
 */
/** A revocation from another instance (or a lifted lockout), or null for anything else on the channel. */
function parseRevocation(payload: string): Revocation | { unlock: string } | null {
  try {
    const value = JSON.parse(payload) as Record<string, unknown>
    if (typeof value.user === 'string') return { user: value.user }
    if (typeof value.credential === 'string') return { credential: value.credential }
    if (typeof value.group === 'string') return { group: value.group }
    if (typeof value.unlock === 'string') return { unlock: value.unlock }
  } catch {
    // not ours
  }
  return null
}

/** A readiness probe's database query gives up after this (core's own check timeout is 2 s). */
const READINESS_DEADLINE_MS = 2000

const mlblocksAuth: FastifyPluginAsync<AuthOptions> = async (app, options) => {
  // One line naming the setting and AUTH_ENABLED=false. Under core, the environment is core's.
  const settings = resolveSettings({ env: app.mlblocks?.env, ...options })
  const blockNames = () => app.mlblocks?.blocks.names ?? []
  const unknownPublic = settings.publicBlocks.filter((name) => !blockNames().includes(name))
  if (app.mlblocks && unknownPublic.length > 0) {
    throw new AuthSettingError(
      `AUTH_PUBLIC_BLOCKS names ${unknownPublic.map((n) => `'${n}'`).join(', ')}, which this server does not serve (its blocks: ${blockNames().join(', ') || 'none'}): fix the names, or unset it to keep every block private`,
    )
  }
  const database = await openDatabase(settings.database)

  const tokens = new Tokens(database.db, { sign: (p) => app.jwt.sign(p), verify: (t) => app.jwt.verify(t) }, settings.tokenTtlMs)
  const apiKeys = new ApiKeys(database.db)
  // Revocations reach the other instances on one Postgres through NOTIFY (see openDatabase's subscribe).
  const publish = (revocation: Revocation) =>
    void database.db
      .execute(sql`select pg_notify(${REVOCATIONS_CHANNEL}, ${JSON.stringify(revocation)})`)
      .catch((err: unknown) => app.log.error({ err }, 'auth: could not tell other instances of a revocation'))
  const credentials = new Credentials(tokens, apiKeys, settings.cacheTtlMs, database.subscribe ? publish : undefined)
  const users = new Users(database.db, (userId) => credentials.forgetUser(userId))
  const metrics = new AuthMetrics(app.mlblocks?.metrics, credentials, { size: database.poolSize, kind: settings.database.kind })
  // A group's change reaches every member's cached tokens and keys, here and (NOTIFY) on every instance.
  const groups = new Groups(database.db, { groupChanged: (id) => credentials.forgetGroup(id), memberChanged: (id) => credentials.forgetUser(id) })
  const publicBlocks = new Set(settings.publicBlocks)
  const accessCheck = new AccessCheck(database.db, publicBlocks)
  const audit = new Audit(database.db, app.log)
  const usage = new Usage(database.db, app.log)
  // Once only: a failed start closes it below, and core then closes the app (and this hook) too.
  let closed: Promise<void> | undefined
  const closeDatabase = () => (closed ??= database.close())
  let pruning: NodeJS.Timeout | undefined
  app.addHook('onClose', async () => {
    clearInterval(pruning)
    credentials.close()
    apiKeys.close()
    await audit.flush() // queued security events and usage counters first, then the database
    await usage.close()
    await closeDatabase()
  })
  // REDIS_URL: every instance counts logins and request budgets in one place.
  const redis = settings.redisUrl ? await connectRedis(settings.redisUrl, app) : null
  if (redis) {
    app.addHook('onClose', async () => {
      redis.removeAllListeners('close') // a closing server's own quit is no outage
      await redis.quit().catch(() => undefined)
    })
  }
  const limits = createLoginLimits(
    { addressFailures: settings.loginRateLimit, freeAttempts: settings.loginFreeAttempts, maxBackoffMs: settings.loginMaxBackoffMs },
    redis,
  )
  const publishUnlock = (username: string) =>
    void database.db
      .execute(sql`select pg_notify(${REVOCATIONS_CHANNEL}, ${JSON.stringify({ unlock: username })})`)
      .catch((err: unknown) => app.log.error({ err }, 'auth: could not tell other instances of a lifted lockout'))
  try {
    await migrateDatabase(database)
    await audit.prune(settings.auditRetentionMs)
    await usage.prune(settings.auditRetentionMs)
    const admin = await users.bootstrapAdmin(settings.admin)
    if (admin === 'created') app.log.info({ username: settings.admin?.username }, 'auth: first admin created')
    if (admin === 'skipped' && !(await hasActiveAdmin(database.db))) {
      // Nobody can log in to manage users: say how to make the first admin (the server still starts).
      app.log.warn(
        `auth: there is no admin, so nobody can manage users: set MLBLOCKS_ADMIN_USERNAME and MLBLOCKS_ADMIN_PASSWORD to create one at start-up, or run \`mlblocks-auth create-admin <username>\` (${database.description}) while the server is stopped`,
      )
    }
    await preparePasswords()
    await apiKeys.endGraces() // old secrets of rotated keys whose grace ended while no instance ran
    await apiKeys.loadLegacyPrefixes()
    await database.subscribe?.(
      REVOCATIONS_CHANNEL,
      (payload) => {
        const revocation = parseRevocation(payload)
        if (revocation && 'unlock' in revocation) void limits.unlock(revocation.unlock).catch(() => undefined)
        else if (revocation) credentials.applyRemote(revocation)
      },
      (listening) => {
        credentials.setShared(listening)
        app.log[listening ? 'info' : 'warn']({ listening }, listening ? 'auth: receiving revocations from other instances' : 'auth: revocation channel lost; checking every credential against the database until it is back')
      },
    )
  } catch (err) {
    await closeDatabase()
    throw err
  }

  await app.register(fastifyJwt, {
    secret: settings.jwtSecret,
    sign: { algorithm: 'HS256', iss: 'mlblocks' },
    verify: { algorithms: ['HS256'], allowedIss: 'mlblocks' },
  })
  pruning = setInterval(() => {
    void audit.prune(settings.auditRetentionMs).catch((err: unknown) => app.log.error({ err }, 'audit: pruning failed'))
    void usage.prune(settings.auditRetentionMs).catch((err: unknown) => app.log.error({ err }, 'usage: pruning failed'))
    void apiKeys.endGraces().catch((err: unknown) => app.log.error({ err }, 'auth: could not clear the old secrets of rotated keys'))
  }, 3_600_000)
  usage.start()
  pruning.unref()

  await app.register(rateLimit, {
    global: false,
    // Shared counters; if Redis fails mid-way, requests go on unlimited (logged) rather than failing.
    ...(redis ? { redis, nameSpace: 'mlblocks:auth:rate:', skipOnError: true } : {}),
    // Only the block routes' request budget uses it: /login has its own limits (login-limits.ts).
    errorResponseBuilder: (_request, context) => new RequestBudgetExceeded(Math.ceil(context.ttl / 1000)),
  })

  app.decorateRequest('principal', null)
  const budgeted = settings.requestRateLimit > 0
  app.addHook('onRoute', (route) => documentSecurity(route, budgeted && isBlockRoute(route), publicBlocks))
  // Usage per user, key, block and hour: counted on each block's predict route, after the answer.
  app.addHook('onRoute', (route) => {
    const block = route.config?.block
    if (block === undefined || route.method !== 'POST' || !route.url.endsWith('/predict')) return
    const hook = usage.hook(block)
    route.onResponse = [...(route.onResponse === undefined ? [] : Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse]), hook]
  })
  // /metrics counts the 401/403/429 answers of every guarded route and of /login; public routes run nothing.
  const countDenied = metrics.deniedHook
  if (countDenied) {
    app.addHook('onRoute', (route) => {
      if (route.config?.public && route.url !== '/login') return
      route.onResponse = [...(route.onResponse === undefined ? [] : Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse]), countDenied]
    })
  }
  // A note on how to get a token rather than an OAuth2 password flow: that flow posts a form and
  // expects { access_token }, and /login takes JSON and answers { token } (SPEC).
  app.mlblocks?.addSecurityScheme('bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'A login token or an API key. To get a token: POST /login (under auth below, Try it out) with your username and password, and paste the `token` of its answer here.',
  })
  app.mlblocks?.addSecurityScheme('apiKey', { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key' })
  // /readyz answers 503 while the database is unreachable (a load balancer then routes around us).
  // Probes that arrive while one is asking share its answer: a flood of probes is one query at a time.
  // The shared query has a deadline of its own: one that hangs on a cut connection must not hold
  // every later probe at 503 once the database is back.
  let probing: Promise<void> | undefined
  app.mlblocks?.addReadinessCheck('the auth database', () =>
    (probing ??= withDeadline(READINESS_DEADLINE_MS, database.db.execute(sql`select 1`)).then(
      () => void (probing = undefined),
      (err: unknown) => {
        probing = undefined
        throw err
      },
    )),
  )
  // An optional budget per API key (or per user, for login tokens), ONE budget across every block
  // route (predict, GET /blocks/:name, GET /blocks), in @fastify/rate-limit's shared store (Redis
  // with REDIS_URL) rather than one store per route. It runs right after the credential check.
  let requestBudget: onRequestHookHandler | undefined
  if (budgeted) {
    const budget = app.createRateLimit({
      max: settings.requestRateLimit,
      timeWindow: 60_000,
      keyGenerator: (request) =>
        request.principal ? (request.principal.via === 'api_key' ? `budget:key:${request.principal.credentialId}` : `budget:user:${request.principal.userId}`) : `budget:ip:${addressKey(request.ip)}`,
    })
    requestBudget = async function mlblocksRequestBudget(request, reply) {
      const limit = await budget(request)
      if (limit.isAllowed || !limit.isExceeded) return
      reply.header('retry-after', String(limit.ttlInSeconds))
      throw new RequestBudgetExceeded(limit.ttlInSeconds)
    }
  }
  // AUTH_PUBLIC_BLOCKS: callers without a credential reach those blocks, under a quota per address (shared in Redis).
  const anonymous = settings.publicBlocks.length > 0 ? createAnonymousQuota(settings.publicBlocks, settings.anonymousRateLimit, redis) : undefined
  // Per route, not a root hook: public routes run no auth code at all (hooks/protect-routes.ts).
  let routeTable: RouteAccess[] = []
  protectRoutes(app, credentials, audit, {
    after: requestBudget && { hook: requestBudget, applies: isBlockRoute },
    anonymous,
    onClassified: (table) => {
      routeTable = table
      logSummary(app.log, table, settings.publicBlocks)
    },
  })
  await app.register(authRoutes, {
    users,
    tokens,
    apiKeys,
    credentials,
    settings,
    limits,
    publishUnlock: database.subscribe ? publishUnlock : () => undefined,
    audit,
    groups,
    accessCheck,
    blockNames,
    publicBlocks,
    routeTable: () => routeTable,
    metrics,
    usage,
  })
  if (settings.console) await app.register(consoleRoutes)
}

/** Core's block routes: each block's (`config.block`) and the listing. */
const isBlockRoute = (route: { config?: { block?: string } | undefined; url: string }) => route.config?.block !== undefined || route.url === '/blocks'

export const mlblocksAuthPlugin = fp(mlblocksAuth, { name: '@mlblocks/auth', fastify: '5.x' })
export default mlblocksAuthPlugin
