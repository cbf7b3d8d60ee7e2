import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify'
import { AdminOnly, AnonymousRateLimited, BlockForbidden, KeyScopeExcludes, ScopedKeyNotAdmin, Unauthorized, Unavailable } from '../errors.js'
import { RETRY_AFTER_S } from '../db/errors.js'
import { API_KEY_PREFIX } from '../services/api-keys.js'
import type { Audit } from '../services/audit.js'
import type { Credentials } from '../services/credentials.js'
import { isScoped, mayCall, ownerMayCall, type Principal } from '../services/principal.js'
import { addressKey } from '../services/client-address.js'

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

/** What callers without a credential may reach: the public blocks (AUTH_PUBLIC_BLOCKS), under a quota per address. */
export interface Anonymous {
  publicBlocks: ReadonlySet<string>
  /** Takes one prediction from the address's quota: 0 when allowed, else the seconds to wait. */
  take(address: string): Promise<number>
  /** AUTH_ANONYMOUS_RATE_LIMIT, for the 429's message. */
  perMinute: number
}

/** Where a check is attached: the block its route serves, and whether anonymous callers may pass. */
export interface CheckTarget {
  block: string | undefined
  /** Set on the routes anonymous callers reach: a public block's, and the listing (when any block is public). */
  anonymous?: { quota: Anonymous; predict: boolean } | undefined
}

/**
 * The one check, attached to each route that is not public (`protectRoutes`): who is calling (401
 * otherwise, with one message whatever went wrong), and, on a block's routes (`block`), whether
 * they may call it (403 naming it). Public routes never enter it. On a public block's routes a
 * request WITHOUT a credential passes as anonymous (its predictions counted per address); one that
 * sends a credential is checked like any other, so a bad one is a 401, never anonymous.
 * Callback-style, so that a credential already in the cache costs no promise and no extra tick.
 */
export function authenticate(credentials: Credentials, audit: Audit, target: CheckTarget): onRequestHookHandler {
  const { block, anonymous } = target
  return function mlblocksAuthenticate(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    const credential = credentialOf(request)
    if (credential === undefined) return anonymous ? admitAnonymous(request, reply, anonymous, block, audit, done) : done(deny(request, audit))
    const checked = credentials.check(credential)
    const publicBlocks = anonymous?.quota.publicBlocks
    if (!(checked instanceof Promise)) return done(checked ? admit(request, reply, block, checked, audit, publicBlocks) : deny(request, audit))
    checked.then(
      (principal) => done(principal ? admit(request, reply, block, principal, audit, publicBlocks) : deny(request, audit)),
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

/** No credential, on a route anonymous callers reach: they see only the public blocks, and each prediction takes from the address's quota. */
function admitAnonymous(
  request: FastifyRequest,
  reply: FastifyReply,
  anonymous: NonNullable<CheckTarget['anonymous']>,
  block: string | undefined,
  audit: Audit,
  done: HookHandlerDoneFunction,
): void {
  const { quota } = anonymous
  request.blockAccess = (name) => quota.publicBlocks.has(name)
  if (!anonymous.predict) return done()
  quota.take(addressKey(request.ip)).then(
    (wait) => {
      if (wait === 0) return done()
      reply.header('retry-after', String(wait))
      audit.record(request, { action: 'access.limited', status: 429, target: `block:${block ?? ''}` })
      done(new AnonymousRateLimited(quota.perMinute, wait))
    },
    (err: unknown) => done(err as Error),
  )
}

/** Sets who is calling; on a block's routes (`block`), the 403 error when they may not call it (a public block they may). */
function admit(request: FastifyRequest, reply: FastifyReply, block: string | undefined, principal: Principal, audit: Audit, publicBlocks?: ReadonlySet<string>): Error | undefined {
  request.principal = principal
  if (principal.keyExpiresAt && principal.keyExpiresAt.getTime() - Date.now() < KEY_EXPIRY_WARNING_MS) {
    reply.header(KEY_EXPIRES_HEADER, principal.keyExpiresAt.toISOString())
  }
  if (principal.role !== 'admin' || isScoped(principal)) {
    request.blockAccess = publicBlocks ? (name) => mayCall(principal, name) || publicBlocks.has(name) : (name) => mayCall(principal, name)
  }
  if (block !== undefined && !mayCall(principal, block) && !publicBlocks?.has(block)) {
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
