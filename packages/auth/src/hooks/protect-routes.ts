import type { FastifyBaseLogger, FastifyInstance, onRequestHookHandler, RouteOptions } from 'fastify'
import type { Audit } from '../services/audit.js'
import type { Credentials } from '../services/credentials.js'
import { authenticate, requireAdmin, type Anonymous } from './authenticate.js'

/** How a route is reached with auth on (SPEC's deny by default; `GET /admin/routes` lists them). */
export type Access = 'public' | 'credential' | 'admin' | `block:${string}`

/** One line of `GET /admin/routes`. */
export interface RouteAccess {
  method: string
  url: string
  access: Access
  /** Whether a caller without any credential reaches it: public routes, and the public blocks' (AUTH_PUBLIC_BLOCKS). */
  anonymous: boolean
}

/** The values `config.access` may take (a block's routes carry `config.block` instead). */
const DECLARED = ['public', 'credential', 'admin'] as const

/** Marks the hooks this module attaches, so that a route's access can be read back from it. */
const CHECK = Symbol('mlblocks.auth.check')
const ADMIN = Symbol('mlblocks.auth.admin')
const ANONYMOUS = Symbol('mlblocks.auth.anonymous')
type Tagged = onRequestHookHandler & { [CHECK]?: true; [ADMIN]?: true; [ANONYMOUS]?: true }

const hooksOf = (route: RouteOptions): Tagged[] =>
  route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? [...route.onRequest] : [route.onRequest]

/** `config.public: true` (core's and older plugins' spelling) or `config.access: 'public'`. */
const isPublic = (route: RouteOptions) => route.config?.public === true || route.config?.access === 'public'

/**
 * The access a route was given, or null when it has none: not public, and either without the
 * credential check (it escaped `protectRoutes`) or classified by no rule. Start-up refuses both.
 */
export function accessOf(route: RouteOptions): Access | null {
  if (isPublic(route)) return 'public'
  const hooks = hooksOf(route)
  if (!hooks.some((hook) => hook[CHECK])) return null
  if (hooks.some((hook) => hook[ADMIN])) return 'admin'
  if (route.config?.access === 'admin') return null // says admin, but nothing checks it
  if (route.config?.block !== undefined) return `block:${route.config.block}`
  return route.config?.access === 'credential' ? 'credential' : null
}

/** Why a route has no access, as the one line that stops start-up. */
function refusal(route: RouteOptions): string {
  const methods = Array.isArray(route.method) ? route.method.join(',') : route.method
  const name = `auth: route ${methods} ${route.url}`
  const fix = 'or turn auth off with AUTH_ENABLED=false.'
  if (!hooksOf(route).some((hook) => hook[CHECK])) {
    return `${name} would be open: it is neither public (config.access: 'public') nor checked by @mlblocks/auth (register it after the auth plugin). Fix the route, ${fix}`
  }
  const declared = route.config?.access
  const got = declared === undefined ? 'no config.access' : `config.access ${JSON.stringify(declared).slice(0, 40)}`
  return `${name} is not classified (${got}): give it config: { access: 'public' | 'credential' | 'admin' } (a block's routes carry config.block), ${fix}`
}

/** A hook that runs right after the credential check (so with `request.principal` set) on the routes it applies to. */
export interface AfterCheck {
  hook: onRequestHookHandler
  applies: (route: RouteOptions) => boolean
}

export interface ProtectOptions {
  after?: AfterCheck | undefined
  /** Public blocks and their quota; absent when no block is public. */
  anonymous?: Anonymous | undefined
  /** Called once every route is classified (at `onReady`), with the table `GET /admin/routes` answers. */
  onClassified?: (routes: RouteAccess[]) => void
}

/** Core's listing of blocks: anonymous callers see the public blocks there. */
const isBlockListing = (route: RouteOptions) => route.url === '/blocks'

/**
 * Attaches the credential check to every route registered from here on that is not public, as the
 * route's first onRequest hook, and the admin check after it where `config.access` is `admin`:
 * public routes (health, docs, login) run no auth hook at all. Every route must be classified —
 * public, credential, admin, or a block's (`config.block`) — and under core, start-up checks every
 * route of the server, those registered before auth included (core's `routes()`), and stops with
 * one line naming a route that is not: a route is never silently open.
 */
export function protectRoutes(app: FastifyInstance, credentials: Credentials, audit: Audit, options: ProtectOptions = {}): void {
  const { after, anonymous } = options
  app.addHook('onRoute', function mlblocksProtectRoute(route) {
    if (isPublic(route)) return
    const block = route.config?.block
    const anonymousHere = anonymous && (block !== undefined ? anonymous.publicBlocks.has(block) : isBlockListing(route))
    const check: Tagged = authenticate(credentials, audit, {
      block,
      anonymous: anonymousHere ? { quota: anonymous, predict: route.method === 'POST' && route.url === `/blocks/${block}/predict` } : undefined,
    })
    check[CHECK] = true
    if (anonymousHere) check[ANONYMOUS] = true
    // `config.access: 'admin'` (core's GET /metrics, a plugin's own admin route): admins only, right
    // after the check; a monitoring route also admits service accounts (the usual scrape credential).
    const adminCheck = route.config?.access === 'admin' ? [adminHook(audit, SCRAPE_ROUTES.has(route.url) ? SCRAPE_ROLES : ADMIN_ROLES)] : []
    route.onRequest = [check, ...(after?.applies(route) ? [after.hook] : []), ...hooksOf(route), ...adminCheck]
  })
  app.addHook('onReady', async function mlblocksCheckRoutes() {
    const table: RouteAccess[] = []
    for (const route of app.mlblocks?.routes() ?? []) {
      const access = accessOf(route)
      if (access === null) throw new Error(refusal(route))
      for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
        table.push({ method, url: route.url, access, anonymous: access === 'public' || hooksOf(route).some((hook) => hook[ANONYMOUS]) })
      }
    }
    table.sort((a, b) => (a.url === b.url ? a.method.localeCompare(b.method) : a.url < b.url ? -1 : 1))
    options.onClassified?.(table)
  })
}

/** The one-line start-up summary: how many routes of each kind. */
export function logSummary(log: FastifyBaseLogger, table: readonly RouteAccess[], publicBlocks: readonly string[]): void {
  const count = (kind: (r: RouteAccess) => boolean) => table.filter(kind).length
  const counts = {
    public: count((r) => r.access === 'public'),
    credential: count((r) => r.access === 'credential'),
    admin: count((r) => r.access === 'admin'),
    block: count((r) => r.access.startsWith('block:')),
  }
  const open = publicBlocks.length > 0 ? `; public blocks: ${publicBlocks.join(', ')}` : ''
  log.info(
    { routes: counts, publicBlocks },
    `auth: ${table.length} routes classified: ${counts.public} public, ${counts.credential} credential, ${counts.admin} admin, ${counts.block} block${open} (GET /admin/routes lists them)`,
  )
}

/** Monitoring routes, which a service account's API key may also read (the usual scrape credential). */
const SCRAPE_ROUTES = new Set(['/metrics'])
const ADMIN_ROLES: readonly string[] = ['admin']
const SCRAPE_ROLES: readonly string[] = ['admin', 'service']

function adminHook(audit: Audit, roles: readonly string[] = ADMIN_ROLES): Tagged {
  const hook: Tagged = requireAdmin(audit, roles)
  hook[ADMIN] = true
  return hook
}

/** In an encapsulated group of routes: only admins past the credential check (403 otherwise). */
export function adminOnly(app: FastifyInstance, audit: Audit): void {
  const hook = adminHook(audit)
  // The parent's onRoute (protectRoutes) has run first: the check comes before this.
  app.addHook('onRoute', (route) => {
    if (hooksOf(route).some((h) => h[ADMIN])) return
    route.onRequest = [...hooksOf(route), hook]
  })
}

/**
 * Auth's own routes, by one rule: those under `/admin` are for admins, the others (`/me`, `/logout`)
 * need a credential, unless a route says otherwise (`/login` is public). Registered in auth's own
 * encapsulated context, after `protectRoutes` has attached the credential check.
 */
export function classifyOwnRoutes(app: FastifyInstance, audit: Audit): void {
  app.addHook('onRoute', (route) => {
    if (isPublic(route) || route.config?.block !== undefined) return
    const declared = route.config?.access
    if (declared !== undefined && !(DECLARED as readonly string[]).includes(declared)) return // refused at start-up, naming it
    const access = declared ?? (route.url === '/admin' || route.url.startsWith('/admin/') ? 'admin' : 'credential')
    route.config = { ...route.config, access }
    if (access === 'admin' && !hooksOf(route).some((h) => h[ADMIN])) route.onRequest = [...hooksOf(route), adminHook(audit)]
  })
}
