import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { AdminOnly, BlockForbidden, Unauthorized, Unavailable } from '../errors.js'
import { RETRY_AFTER_S } from '../services/db-errors.js'
import type { Audit } from '../services/audit.js'
import type { Credentials } from '../services/credentials.js'
import { mayCall } from '../services/principal.js'

const BEARER = /^Bearer ([!-~]+)$/i

/**
 * The credential of a request: `Authorization: Bearer <token or key>`, else `X-API-Key: <key>`.
 * Never the query string.
 */
export function credentialOf(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization
  if (authorization !== undefined) return BEARER.exec(authorization)?.[1] ?? ''
  const key = request.headers['x-api-key']
  return typeof key === 'string' ? key : undefined
}

/**
 * The one check, on every route that is not public: who is calling (401 otherwise, with one message
 * whatever went wrong), and, on a block's routes, whether they may call it (403 naming it).
 */
export function authenticate(credentials: Credentials, audit: Audit): onRequestAsyncHookHandler {
  return async function mlblocksAuthenticate(request: FastifyRequest, reply: FastifyReply) {
    const { config } = request.routeOptions
    if (config.public || request.is404) return
    const credential = credentialOf(request)
    const principal =
      credential === undefined
        ? null
        : await credentials.verify(credential).catch((err: unknown) => {
            if (err instanceof Unavailable) reply.header('retry-after', String(RETRY_AFTER_S)) // the database is down: 503
            throw err
          })
    if (!principal) {
      audit.record(request, { action: 'access.denied', status: 401, target: routeOf(request) })
      throw new Unauthorized()
    }
    request.principal = principal
    if (principal.role !== 'admin') request.blockAccess = (block) => mayCall(principal, block)
    if (config.block !== undefined && !mayCall(principal, config.block)) {
      audit.record(request, { action: 'access.denied', actor: principal, status: 403, target: `block:${config.block}` })
      throw new BlockForbidden(config.block)
    }
  }
}

/** Route-level: only admins past this point. */
export function requireAdmin(audit: Audit) {
  return async function mlblocksRequireAdmin(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    if (request.principal?.role === 'admin') return
    audit.record(request, { action: 'access.denied', actor: request.principal, status: 403, target: routeOf(request) })
    throw new AdminOnly()
  }
}

/** `GET /admin/users/:id`: the route, never the raw URL (which may carry anything). */
const routeOf = (request: FastifyRequest) => `${request.method} ${request.routeOptions.url ?? ''}`
