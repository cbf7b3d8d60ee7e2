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
  app.addHook('onRoute', (route) => {
    if (route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`)) {
      route.config = { ...route.config, public: true }
      route.logLevel = 'warn'
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
