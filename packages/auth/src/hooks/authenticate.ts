import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify'
import { AdminOnly, BlockForbidden, KeyScopeExcludes, ScopedKeyNotAdmin, Unauthorized, Unavailable } from '../errors.js'
import { RETRY_AFTER_S } from '../db/errors.js'
import { API_KEY_PREFIX } from '../services/api-keys.js'
import type { Audit } from '../services/audit.js'
import type { Credentials } from '../services/credentials.js'
import { isScoped, mayCall, ownerMayCall, type Principal } from '../services/principal.js'

const BEARER = /^Bearer ([!-~]+)$/i

/**
 * The credential of a request: `Authorization: Bearer <token or key>`, else `X-API-Key: <key>`
 * (an API key only: a login token there is refused). Never the query string. Two Authorization
 * headers (Node keeps the first and drops the rest) are refused: '' is a 401.
 */
export function credentialOf(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization
  if (authorization !== undefined) return authorizationHeaders(request.raw.rawHeaders) > 1 ? '' : (BEARER.exec(authorization)?.[1] ?? '')
  const key = request.headers['x-api-key']
  if (typeof key !== 'string') return key === undefined ? undefined : ''
  return key.startsWith(API_KEY_PREFIX) ? key : ''
}

function authorizationHeaders(raw: string[]): number {
  let n = 0
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') n += 1
  return n
}

/**
 * The one check, attached to each route that is not public (`protectRoutes`): who is calling (401
 * otherwise, with one message whatever went wrong), and, on a block's routes (`block`), whether
 * they may call it (403 naming it). Public routes never enter it. Callback-style, so that a
 * credential already in the cache costs no promise and no extra tick.
 */
export function authenticate(credentials: Credentials, audit: Audit, block: string | undefined): onRequestHookHandler {
  return function mlblocksAuthenticate(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    const credential = credentialOf(request)
    if (credential === undefined) return done(deny(request, audit))
    const checked = credentials.check(credential)
    if (!(checked instanceof Promise)) return done(checked ? admit(request, reply, block, checked, audit) : deny(request, audit))
    checked.then(
      (principal) => done(principal ? admit(request, reply, block, principal, audit) : deny(request, audit)),
      (err: unknown) => {
        if (err instanceof Unavailable) reply.header('retry-after', String(RETRY_AFTER_S)) // the database is down: 503
        done(err as Error)
      },
    )
  }
}

function deny(request: FastifyRequest, audit: Audit): Error {
  audit.record(request, { action: 'access.denied', status: 401, target: routeOf(request) })
  return new Unauthorized()
}

/** The response header on requests made with an API key that stops working within a week: when it does. */
export const KEY_EXPIRES_HEADER = 'mlblocks-key-expires'
const KEY_EXPIRY_WARNING_MS = 7 * 86_400_000

/** Sets who is calling; on a block's routes (`block`), the 403 error when they may not call it. */
function admit(request: FastifyRequest, reply: FastifyReply, block: string | undefined, principal: Principal, audit: Audit): Error | undefined {
  request.principal = principal
  if (principal.keyExpiresAt && principal.keyExpiresAt.getTime() - Date.now() < KEY_EXPIRY_WARNING_MS) {
    reply.header(KEY_EXPIRES_HEADER, principal.keyExpiresAt.toISOString())
  }
  if (principal.role !== 'admin' || isScoped(principal)) request.blockAccess = (name) => mayCall(principal, name)
  if (block !== undefined && !mayCall(principal, block)) {
    audit.record(request, { action: 'access.denied', actor: principal, status: 403, target: `block:${block}` })
    // The owner may call it, the key may not: say that it is the key's scope.
    return ownerMayCall(principal, block) ? new KeyScopeExcludes(block) : new BlockForbidden(block)
  }
  return undefined
}

/** Route-level: only admins past this point (or the given roles: `/metrics` also admits service accounts). */
export function requireAdmin(audit: Audit, roles: readonly string[] = ['admin']) {
  return async function mlblocksRequireAdmin(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const principal = request.principal
    if (principal && roles.includes(principal.role) && !isScoped(principal)) return
    audit.record(request, { action: 'access.denied', actor: principal, status: 403, target: routeOf(request) })
    // A key scoped to some blocks is for calling them, never for managing users and keys (nor for scraping).
    throw principal && roles.includes(principal.role) ? new ScopedKeyNotAdmin() : new AdminOnly()
  }
}

/** `GET /admin/users/:id`: the route, never the raw URL (which may carry anything). */
const routeOf = (request: FastifyRequest) => `${request.method} ${request.routeOptions.url ?? ''}`
