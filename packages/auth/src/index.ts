import fastifyJwt from '@fastify/jwt'
import rateLimit from '@fastify/rate-limit'
import type { FastifyPluginAsync } from 'fastify'
import { sql } from 'drizzle-orm'
import fp from 'fastify-plugin'
import type { BlockAccess } from '@mlblocks/core'
import { openDatabase } from './db/client.js'
import { migrateDatabase } from './db/migrate.js'
import { RateLimited, RequestBudgetExceeded } from './errors.js'
import { protectRoutes } from './hooks/protect-routes.js'
import { documentSecurity } from './openapi.js'
import { authRoutes } from './routes/index.js'
import { ApiKeys } from './services/api-keys.js'
import { Audit } from './services/audit.js'
import { LoginGuard, localThrottle, redisThrottle } from './services/login-guard.js'
import { connectRedis } from './redis.js'
import { Credentials, type Revocation } from './services/credentials.js'
import { preparePasswords } from './services/passwords.js'
import type { Principal } from './services/principal.js'
import { Tokens } from './services/tokens.js'
import { Users } from './services/users.js'
import { resolveSettings, type AuthOptions } from './settings.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: set on every route that is not public; `null` on public routes. */
    principal: Principal | null
  }
}

export type { AuthOptions, AuthSettings } from './settings.js'
export type { Principal } from './services/principal.js'
export { authErrorCodes } from './errors.js'
export type { BlockAccess }

/**
 * Users, login tokens, API keys, roles and per-block access for MLBlocks. Registered by core's
 * plugin registry only when auth is enabled; it then checks every route that is not public.
 */
/** A revocation from another instance, or null for anything else on the channel. */
function parseRevocation(payload: string): Revocation | null {
  try {
    const value = JSON.parse(payload) as Record<string, unknown>
    if (typeof value.user === 'string') return { user: value.user }
    if (typeof value.credential === 'string') return { credential: value.credential }
  } catch {
    // not ours
  }
  return null
}

/** The NOTIFY channel on which instances tell each other of revocations. */
const REVOCATIONS = 'mlblocks_auth_revocations'

const mlblocksAuth: FastifyPluginAsync<AuthOptions> = async (app, options) => {
  // One line naming the setting and AUTH_ENABLED=false. Under core, the environment is core's.
  const settings = resolveSettings({ env: app.mlblocks?.env, ...options })
  const database = await openDatabase(settings.database)

  const tokens = new Tokens(database.db, { sign: (p) => app.jwt.sign(p), verify: (t) => app.jwt.verify(t) }, settings.tokenTtlMs)
  const apiKeys = new ApiKeys(database.db)
  // Revocations reach the other instances on one Postgres through NOTIFY (see openDatabase's subscribe).
  const publish = (revocation: Revocation) =>
    void database.db
      .execute(sql`select pg_notify(${REVOCATIONS}, ${JSON.stringify(revocation)})`)
      .catch((err: unknown) => app.log.error({ err }, 'auth: could not tell other instances of a revocation'))
  const credentials = new Credentials(tokens, apiKeys, settings.cacheTtlMs, database.subscribe ? publish : undefined)
  const users = new Users(database.db, (userId) => credentials.forgetUser(userId))
  const audit = new Audit(database.db, app.log)
  // Once only: a failed start closes it below, and core then closes the app (and this hook) too.
  let closed: Promise<void> | undefined
  const closeDatabase = () => (closed ??= database.close())
  let pruning: NodeJS.Timeout | undefined
  app.addHook('onClose', async () => {
    clearInterval(pruning)
    credentials.close()
    await audit.flush() // queued security events first, then the database
    await closeDatabase()
  })
  const guardSettings = {
    freeAttempts: settings.loginFreeAttempts,
    baseDelayMs: 1000,
    maxDelayMs: settings.loginMaxBackoffMs,
    forgetAfterMs: Math.max(settings.loginMaxBackoffMs * 2, 3_600_000),
  }
  // REDIS_URL: every instance counts logins and request budgets in one place.
  const redis = settings.redisUrl ? await connectRedis(settings.redisUrl, app) : null
  if (redis) app.addHook('onClose', async () => void (await redis.quit().catch(() => undefined)))
  const guard = redis ? redisThrottle(redis, guardSettings) : localThrottle(new LoginGuard(guardSettings))
  try {
    await migrateDatabase(database)
    await audit.prune(settings.auditRetentionMs)
    const admin = await users.bootstrapAdmin(settings.admin)
    if (admin === 'created') app.log.info({ username: settings.admin?.username }, 'auth: first admin created')
    await preparePasswords()
    await database.subscribe?.(
      REVOCATIONS,
      (payload) => {
        const revocation = parseRevocation(payload)
        if (revocation) credentials.applyRemote(revocation)
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
  pruning = setInterval(() => void audit.prune(settings.auditRetentionMs).catch((err: unknown) => app.log.error({ err }, 'audit: pruning failed')), 3_600_000)
  pruning.unref()

  // Before @fastify/rate-limit, whose own onRoute hook reads this: an optional budget per API key
  // (or per user, for login tokens) on the block routes.
  if (settings.requestRateLimit > 0) {
    app.addHook('onRoute', (route) => {
      if (route.config?.block === undefined && route.url !== '/blocks') return
      route.config = {
        ...route.config,
        rateLimit: {
          max: settings.requestRateLimit,
          timeWindow: 60_000,
          keyGenerator: (request) =>
            request.principal ? (request.principal.via === 'api_key' ? `key:${request.principal.credentialId}` : `user:${request.principal.userId}`) : request.ip,
        },
      }
    })
  }
  await app.register(rateLimit, {
    global: false,
    // Shared counters; if Redis fails mid-way, requests go on unlimited (logged) rather than failing.
    ...(redis ? { redis, nameSpace: 'mlblocks:auth:rate:', skipOnError: true } : {}),
    errorResponseBuilder: (request, context) => {
      const seconds = Math.ceil(context.ttl / 1000)
      return request.routeOptions.url === '/login' ? new RateLimited(seconds) : new RequestBudgetExceeded(seconds)
    },
  })

  app.decorateRequest('principal', null)
  app.addHook('onRoute', documentSecurity)
  app.mlblocks?.addSecurityScheme('bearer', { type: 'http', scheme: 'bearer', description: 'A login token from POST /login, or an API key' })
  app.mlblocks?.addSecurityScheme('apiKey', { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key' })
  // /readyz answers 503 while the database is unreachable (a load balancer then routes around us).
  // Probes that arrive while one is asking share its answer: a flood of probes is one query at a time.
  let probing: Promise<void> | undefined
  app.mlblocks?.addReadinessCheck('the auth database', () =>
    (probing ??= database.db.execute(sql`select 1`).then(
      () => void (probing = undefined),
      (err: unknown) => {
        probing = undefined
        throw err
      },
    )),
  )
  // Per route, not a root hook: public routes run no auth code at all (hooks/protect-routes.ts).
  protectRoutes(app, credentials, audit)
  await app.register(authRoutes, { users, tokens, apiKeys, credentials, settings, guard, audit })
}

export const mlblocksAuthPlugin = fp(mlblocksAuth, { name: '@mlblocks/auth', fastify: '5.x' })
export default mlblocksAuthPlugin
