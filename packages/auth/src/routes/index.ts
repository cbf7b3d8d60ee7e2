import type { FastifyPluginAsync } from 'fastify'
import { PasswordsBusy, Unavailable } from '../errors.js'
import { isDatabaseOutage, RETRY_AFTER_S } from '../services/db-errors.js'
import { classifyOwnRoutes, type RouteAccess } from '../hooks/protect-routes.js'
import type { AccessCheck } from '../services/access-check.js'
import type { ApiKeys } from '../services/api-keys.js'
import type { Audit } from '../services/audit.js'
import type { LoginLimits } from '../services/login-limits.js'
import type { Credentials } from '../services/credentials.js'
import type { Groups } from '../services/groups.js'
import type { Tokens } from '../services/tokens.js'
import type { Users } from '../services/users.js'
import type { AuthSettings } from '../settings.js'
import { adminAccessRoutes } from './admin-access.js'
import { adminApiKeyRoutes } from './admin-api-keys.js'
import { adminAuditRoute } from './admin-audit.js'
import { adminGroupRoutes } from './admin-groups.js'
import { adminRoutesRoute } from './admin-routes.js'
import { adminUserRoutes } from './admin-users.js'
import { loginRoute } from './login.js'
import { logoutRoute } from './logout.js'
import { meRoute } from './me.js'

export interface RouteDeps {
  users: Users
  tokens: Tokens
  apiKeys: ApiKeys
  credentials: Credentials
  settings: AuthSettings
  limits: LoginLimits
  /** Tells the other instances (on one Postgres, through NOTIFY) to lift a username's back-off too. */
  publishUnlock: (username: string) => void
  audit: Audit
  groups: Groups
  accessCheck: AccessCheck
  /** The blocks of this server (core's registry). */
  blockNames: () => string[]
  /** AUTH_PUBLIC_BLOCKS. */
  publicBlocks: ReadonlySet<string>
  /** Every route and its access, as classified at start-up (`GET /admin/routes`). */
  routeTable: () => RouteAccess[]
}

/** Auth's own routes, each group encapsulated so that its hooks (admin only) stay inside. */
export const authRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  // A database outage is a 503 to retry, not a 500. Rethrown: core's handler writes every error body.
  app.setErrorHandler((err, _request, reply) => {
    if (err instanceof PasswordsBusy) {
      reply.header('retry-after', '1') // the bounded queue drains in about a second
      throw err
    }
    if (!isDatabaseOutage(err)) throw err
    reply.header('retry-after', String(RETRY_AFTER_S))
    throw new Unavailable()
  })
  // Deny by default: auth's own routes under /admin are for admins, the others need a credential.
  classifyOwnRoutes(app, deps.audit)
  await app.register(loginRoute, deps)
  await app.register(logoutRoute, deps)
  await app.register(meRoute, deps)
  await app.register(adminUserRoutes, deps)
  await app.register(adminApiKeyRoutes, deps)
  await app.register(adminAuditRoute, deps)
  await app.register(adminGroupRoutes, deps)
  await app.register(adminAccessRoutes, deps)
  await app.register(adminRoutesRoute, deps)
}
