import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import type { SecurityScheme } from './fastify-types.js'

export const DOCS_PREFIX = '/docs'

/** OpenAPI 3 from the route schemas, at /docs/json, with the UI at /docs. Both stay open. */
export async function registerDocs(
  app: FastifyInstance,
  securitySchemes: Record<string, SecurityScheme>,
  version: string,
): Promise<void> {
  let lastDocument: unknown
  let lastJson = ''
  /** JSON.stringify, answering again at once for the object it last serialized (the OpenAPI document). */
  const serializeOnce = (payload: unknown): string => {
    if (payload !== lastDocument) {
      lastJson = JSON.stringify(payload)
      lastDocument = payload
    }
    return lastJson
  }
  app.addHook('onRoute', (route) => {
    if (route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`)) {
      route.config = { ...route.config, public: true }
      route.logLevel = 'warn'
    }
    if (route.url === `${DOCS_PREFIX}/json`) {
      // @fastify/swagger builds the document once and returns that same object on every request;
      // serialize it once too (40 KB with auth's routes: most of what a request here costs).
      const handler = route.handler
      route.handler = function mlblocksDocsJson(request, reply) {
        reply.serializer(serializeOnce)
        return handler.call(this, request, reply)
      }
    }
  })
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'MLBlocks',
        version,
        description: 'Machine-learning blocks over HTTP. Every error has the shape { statusCode, code, error_message }.',
      },
      tags: [
        { name: 'blocks', description: 'Blocks and their predict endpoints' },
        { name: 'health', description: 'Liveness and readiness probes' },
      ],
      // Read when the document is generated, so plugins registered later can still add to it.
      components: { securitySchemes },
    },
  })
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX })
}
