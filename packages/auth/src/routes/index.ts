import type { FastifyPluginAsync } from 'fastify'
import { PasswordsBusy, Unavailable } from '../errors.js'
import { isDatabaseOutage, RETRY_AFTER_S } from '../db/errors.js'
import { classifyOwnRoutes } from '../hooks/protect-routes.js'
import type { RouteDeps } from './deps.js'
import { adminAccessRoutes } from './admin-access.js'
import { adminApiKeyRoutes } from './admin-api-keys.js'
import { adminAuditRoute } from './admin-audit.js'
import { adminGroupRoutes } from './admin-groups.js'
import { adminRoutesRoute } from './admin-routes.js'
import { adminUsageRoute } from './admin-usage.js'
import { adminUserRoutes } from './admin-users.js'
import { loginRoute } from './login.js'
import { logoutRoute } from './logout.js'
import { meRoute } from './me.js'
import { meApiKeyRoutes } from './me-api-keys.js'
import { mePasswordRoute } from './me-password.js'

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
  await app.register(adminUsageRoute, deps)
  await app.register(meApiKeyRoutes, deps)
  await app.register(mePasswordRoute, deps)
  await app.register(adminGroupRoutes, deps)
  await app.register(adminAccessRoutes, deps)
  await app.register(adminRoutesRoute, deps)
}
