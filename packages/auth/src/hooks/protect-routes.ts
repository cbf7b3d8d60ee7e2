import type { FastifyInstance, onRequestHookHandler, RouteOptions } from 'fastify'
import type { Audit } from '../services/audit.js'
import type { Credentials } from '../services/credentials.js'
import { authenticate, requireAdmin } from './authenticate.js'

/** How a route is reached with auth on (SPEC's deny by default; `GET /admin/routes` will list these). */
export type Access = 'public' | 'credential' | 'admin' | `block:${string}`

/** Marks the hooks this module attaches, so that a route's access can be read back from it. */
const CHECK = Symbol('mlblocks.auth.check')
const ADMIN = Symbol('mlblocks.auth.admin')
type Tagged = onRequestHookHandler & { [CHECK]?: true; [ADMIN]?: true }

const hooksOf = (route: RouteOptions): Tagged[] =>
  route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? [...route.onRequest] : [route.onRequest]

/**
 * The access a route was given, or null when it has none: neither public nor carrying the
 * credential check (a route that escaped `protectRoutes`, which start-up refuses).
 */
export function accessOf(route: RouteOptions): Access | null {
  if (route.config?.public) return 'public'
  const hooks = hooksOf(route)
  if (!hooks.some((hook) => hook[CHECK])) return null
  if (hooks.some((hook) => hook[ADMIN])) return 'admin'
  return route.config?.block === undefined ? 'credential' : `block:${route.config.block}`
}

/** A hook that runs right after the credential check (so with `request.principal` set) on the routes it applies to. */
export interface AfterCheck {
  hook: onRequestHookHandler
  applies: (route: RouteOptions) => boolean
}

/**
 * Attaches the credential check to every route registered from here on that is not public, as the
 * route's first onRequest hook: public routes (health, docs, login) run no auth hook at all,
 * instead of entering a root hook that lets them pass. Under core, start-up then checks every
 * route of the server, those registered before auth included (core's `routes()`), and stops with
 * one line if any is neither public nor checked: a route is never silently open.
 */
export function protectRoutes(app: FastifyInstance, credentials: Credentials, audit: Audit, after?: AfterCheck): void {
  app.addHook('onRoute', function mlblocksProtectRoute(route) {
    if (route.config?.public) return
    const check: Tagged = authenticate(credentials, audit, route.config?.block)
    check[CHECK] = true
    route.onRequest = [check, ...(after?.applies(route) ? [after.hook] : []), ...hooksOf(route)]
    // `config.access: 'admin'` (core's GET /metrics): admins only, right after the check. The
    // smallest form of route classification by config; auth's own admin routes use adminOnly().
    if (route.config?.access === 'admin') route.onRequest.push(adminCheck(audit, SCRAPE_ROUTES.has(route.url) ? SCRAPE_ROLES : ADMIN_ROLES))
  })
  app.addHook('onReady', async function mlblocksCheckRoutes() {
    for (const route of app.mlblocks?.routes() ?? []) {
      if (accessOf(route) !== null) continue
      const methods = Array.isArray(route.method) ? route.method.join(',') : route.method
      throw new Error(
        `auth: route ${methods} ${route.url} would be open: it is neither public (config.public) nor checked by @mlblocks/auth (register it after the auth plugin). Fix the route, or turn auth off with AUTH_ENABLED=false.`,
      )
    }
  })
}

/** Monitoring routes, which a service account's API key may also read (the usual scrape credential). */
const SCRAPE_ROUTES = new Set(['/metrics'])
const ADMIN_ROLES: readonly string[] = ['admin']
const SCRAPE_ROLES: readonly string[] = ['admin', 'service']

function adminCheck(audit: Audit, roles: readonly string[]): Tagged {
  const hook: Tagged = requireAdmin(audit, roles)
  hook[ADMIN] = true
  return hook
}

/** In an encapsulated group of routes: only admins past the credential check (403 otherwise). */
export function adminOnly(app: FastifyInstance, audit: Audit): void {
  const hook: Tagged = requireAdmin(audit)
  hook[ADMIN] = true
  // The parent's onRoute (protectRoutes) has run first: the check comes before this.
  app.addHook('onRoute', (route) => {
    route.onRequest = [...hooksOf(route), hook]
  })
}
