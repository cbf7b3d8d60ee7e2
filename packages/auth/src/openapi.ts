import type { RouteOptions } from 'fastify'
import { ErrorReply } from '@mlblocks/core'

const SECURITY = [{ bearer: [] }, { apiKey: [] }]

/** onRoute: every protected route documents its security schemes and its 401 and 403 answers. */
export function documentSecurity(route: RouteOptions): void {
  const schema = route.schema as (RouteOptions['schema'] & { hide?: boolean; security?: unknown }) | undefined
  if (route.config?.public || !schema || schema.hide) return
  const response = (schema.response ?? {}) as Record<string, unknown>
  route.schema = {
    ...schema,
    security: SECURITY,
    response: { ...response, 401: ErrorReply, 403: ErrorReply },
  } as RouteOptions['schema']
}
