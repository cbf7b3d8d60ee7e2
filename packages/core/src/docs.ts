import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TSchema } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { OpenAPIV3 } from 'openapi-types'
import type { SecurityScheme } from './fastify-types.js'

export const DOCS_PREFIX = '/docs'

/**
 * What an error status means on every MLBlocks route (the error body is the same everywhere); the
 * document gives each error answer this description unless its route says something more exact
 * with `described(ErrorReply, '…')`. Success answers have no default: each route describes its own.
 */
export const ERROR_MEANINGS: Readonly<Record<string, string>> = {
  400: 'Bad input (MLB_BAD_INPUT): the body, path or query failed its schema; error_message names the field.',
  401: 'No valid credential (MLB_UNAUTHORIZED): missing, malformed, expired or revoked. Log in or send a key.',
  403: 'The credential is valid but lacks the right (MLB_FORBIDDEN): admin only, or the block is not granted.',
  404: 'No such id: error_message says which.',
  409: 'Conflicts with the current state: the code and error_message say how.',
  429: 'Too many requests (MLB_RATE_LIMITED): retry after the seconds in Retry-After.',
  500: 'A bug on the server side (MLB_INTERNAL, MLB_BAD_OUTPUT): the details are in the server log, never here.',
  503: 'Not available yet (MLB_UNAVAILABLE, MLB_BLOCK_LOADING, MLB_BLOCK_FAILED): retry after the seconds in Retry-After.',
}

/** `schema` with the description its answer gets in the OpenAPI document (e.g. a route's own 404). */
export const described = <T extends TSchema>(schema: T, description: string): T => ({ ...schema, description })

/** Fills in the error answers a route left undescribed (see ERROR_MEANINGS). */
function describeErrors(doc: Partial<OpenAPIV3.Document>): Partial<OpenAPIV3.Document> {
  for (const methods of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(methods ?? {})) {
      const responses = (op as OpenAPIV3.OperationObject | undefined)?.responses
      if (typeof responses !== 'object' || responses === null) continue
      for (const [status, response] of Object.entries(responses)) {
        const meaning = ERROR_MEANINGS[status]
        if (meaning && 'description' in response && response.description === 'Default Response') response.description = meaning
      }
    }
  }
  return doc
}

/** MLBlocks' mark: three stacked blocks, for the UI's top bar and the tab's icon. */
const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64"><rect x="4" y="36" width="26" height="24" rx="4" fill="#2563eb"/><rect x="34" y="36" width="26" height="24" rx="4" fill="#0ea5e9"/><rect x="19" y="6" width="26" height="24" rx="4" fill="#f59e0b"/></svg>`

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
      // Read when the document is generated, so plugins registered later can still add to it. With
      // no plugin adding one (auth off), the UI shows no Authorize button.
      components: { securitySchemes },
    },
    transformObject: (documentObject) => describeErrors((documentObject as { openapiObject: Partial<OpenAPIV3.Document> }).openapiObject),
  })
  await app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    logo: { type: 'image/svg+xml', content: LOGO, href: DOCS_PREFIX, target: '_self' },
    theme: { title: 'MLBlocks API', favicon: [{ filename: 'mlblocks.svg', rel: 'icon', sizes: 'any', type: 'image/svg+xml', content: LOGO }] },
    uiConfig: { persistAuthorization: false, displayOperationId: false },
  })
}
