import type { RouteOptions } from 'fastify'
import { ErrorReply } from '@mlblocks/core'

const SECURITY = [{ bearer: [] }, { apiKey: [] }]

type Schema = RouteOptions['schema'] & { hide?: boolean; security?: unknown; response?: Record<string, unknown> }

/**
 * onRoute: every protected route documents its security schemes and the answers of the credential
 * check — 401, 403, 503 (the database is down) — and 429 where a rate limit or the request budget applies. A route's own
 * schema for one of these statuses is kept.
 */
export function documentSecurity(route: RouteOptions, budgeted = false): void {
  const schema = (route.schema ?? {}) as Schema
  if (route.config?.public || schema.hide) return
  const checks: Record<string, unknown> = { 401: ErrorReply, 403: ErrorReply, 503: ErrorReply }
  if (route.config?.rateLimit || budgeted) checks[429] = ErrorReply
  route.schema = { ...schema, security: SECURITY, response: { ...checks, ...schema.response } } as RouteOptions['schema']
}
