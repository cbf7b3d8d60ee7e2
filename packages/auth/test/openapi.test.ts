import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildAuthServer, createBackend, type Backend } from './helpers.js'

type Operation = { security?: unknown; responses: Record<string, unknown> }
type Doc = { components: { securitySchemes: Record<string, unknown> }; paths: Record<string, Record<string, Operation>> }

const OPEN = ['/healthz', '/readyz', '/login']

describe('the OpenAPI document with auth on', () => {
  let backend: Backend
  let app: FastifyInstance
  let doc: Doc
  beforeAll(async () => {
    backend = await createBackend('embedded')
    app = await buildAuthServer({ backend, options: { requestRateLimit: 100 } })
    doc = (await app.inject('/docs/json')).json()
  })
  afterAll(async () => {
    await app?.close()
    await backend?.drop()
  })

  it('declares the bearer and X-API-Key schemes', () => {
    expect(doc.components.securitySchemes).toEqual({
      bearer: { type: 'http', scheme: 'bearer', description: expect.any(String) },
      apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: expect.any(String) },
    })
  })

  it('puts them, and the 401, 403 and 503 answers, on every protected route, and on no open one', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })))
    expect(operations.length).toBeGreaterThan(10)
    for (const { path, method, op } of operations) {
      if (OPEN.includes(path)) {
        expect(op.security, `${method} ${path}`).toBeUndefined()
        continue
      }
      expect(op.security, `${method} ${path}`).toEqual([{ bearer: [] }, { apiKey: [] }])
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['401', '403', '503']))
    }
  })

  it('documents 429 where a rate limit applies: /login, and the block routes under a request budget', () => {
    expect(Object.keys(doc.paths['/login']!.post!.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '429']))
    expect(Object.keys(doc.paths['/blocks/echo/predict']!.post!.responses)).toEqual(expect.arrayContaining(['200', '429']))
    expect(Object.keys(doc.paths['/admin/users']!.get!.responses)).not.toContain('429')
  })
})
