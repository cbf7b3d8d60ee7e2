import type { RouteOptions } from 'fastify'
import { Type } from '@sinclair/typebox'
import { ErrorReply } from '@mlblocks/core'

const SECURITY = [{ bearer: [] }, { apiKey: [] }]
/** A public block's routes: a credential is optional (`{}`: none). */
const SECURITY_OPTIONAL = [...SECURITY, {}]

type Schema = RouteOptions['schema'] & { hide?: boolean; security?: unknown; response?: Record<string, unknown> }

/** The 403 a route can answer, with its precise code. */
const forbidden = (code: string, description: string) =>
  Type.Object(
    {
      statusCode: Type.Literal(403),
      code: Type.Literal(code, { description: 'Stable, machine-readable error code.' }),
      error_message: Type.String({ description: 'What went wrong and what to do about it.' }),
    },
    { description },
  )
const ADMIN_ONLY = forbidden('MLB_ADMIN_ONLY', 'MLB_ADMIN_ONLY: the credential is valid, but this route is for admins only.')
const NOT_GRANTED = forbidden('MLB_BLOCK_NOT_GRANTED', 'MLB_BLOCK_NOT_GRANTED: the credential is valid, but neither the user nor their groups were granted this block.')

const isAdminRoute = (route: RouteOptions) => route.config?.access === 'admin' || route.url === '/admin' || route.url.startsWith('/admin/')

/**
 * onRoute: every protected route documents its security schemes and the answers of the credential
 * check — 401, 403 where a valid credential can be refused (with its precise code on admin and
 * block routes), 503 (the database is down) —
 * and 429 where a rate limit, the request budget or the anonymous quota applies. A public block's
 * routes make the credential optional. A route's own schema for one of these statuses is kept.
 */
export function documentSecurity(route: RouteOptions, budgeted = false, publicBlocks: ReadonlySet<string> = new Set()): void {
  const schema = (route.schema ?? {}) as Schema
  if (route.config?.public || route.config?.access === 'public' || schema.hide) return
  const block = route.config?.block
  const anonymous = block !== undefined && publicBlocks.has(block)
  const forbids = isAdminRoute(route) ? ADMIN_ONLY : block !== undefined ? NOT_GRANTED : ErrorReply
  const checks: Record<string, unknown> = { 401: ErrorReply, 503: ErrorReply }
  // Only where a valid credential can be refused: admin and block routes, and the self-service
  // routes under /me/ (a key where a token is needed, self-service off, a wrong current password).
  if (!anonymous && (isAdminRoute(route) || block !== undefined || route.url.startsWith('/me/'))) checks[403] = forbids
  if (route.config?.rateLimit || budgeted || (anonymous && route.method === 'POST')) checks[429] = ErrorReply
  route.schema = { ...schema, security: anonymous ? SECURITY_OPTIONAL : SECURITY, response: { ...checks, ...schema.response } } as RouteOptions['schema']
}
