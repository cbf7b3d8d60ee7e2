import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildAuthServer, createBackend, type Backend } from './helpers.js'
import { openApiProblems } from '../../../test-support/openapi.js'

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

  it('puts them, and the 401 and 503 answers, on every protected route, and on no open one; 403 only where a valid credential can be refused', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })))
    expect(operations.length).toBeGreaterThan(10)
    for (const { path, method, op } of operations) {
      if (OPEN.includes(path)) {
        expect(op.security, `${method} ${path}`).toBeUndefined()
        continue
      }
      expect(op.security, `${method} ${path}`).toEqual([{ bearer: [] }, { apiKey: [] }])
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['401', '503']))
      const refusable = path.startsWith('/admin') || path.startsWith('/me/') || path.startsWith('/blocks/') || path === '/metrics'
      expect(Object.keys(op.responses).includes('403'), `${method} ${path}`).toBe(refusable)
    }
  })

  it('documents 429 where a rate limit applies: /login, and the block routes under a request budget', () => {
    expect(Object.keys(doc.paths['/login']!.post!.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '429']))
    expect(Object.keys(doc.paths['/blocks/echo/predict']!.post!.responses)).toEqual(expect.arrayContaining(['200', '429']))
    expect(Object.keys(doc.paths['/admin/users']!.get!.responses)).not.toContain('429')
  })

  it('is valid OpenAPI in which every operation, auth routes and those of later plugins alike, has an operationId, a summary and a described answer per status', async () => {
    expect(await openApiProblems(doc)).toEqual([])
  })

  it('lists only the answers a route can give: no 409 on GET /admin/users/{id}, no 404 on POST /admin/users', () => {
    const statuses = (path: string, method: string) => Object.keys(doc.paths[path]![method]!.responses).sort()
    expect(statuses('/admin/users/{id}', 'get')).toEqual(['200', '400', '401', '403', '404', '503'])
    expect(statuses('/admin/users', 'post')).toEqual(['201', '400', '401', '403', '409', '503'])
    expect(statuses('/admin/users/{id}/lockout', 'delete')).toEqual(['204', '400', '401', '403', '404', '503'])
    expect(statuses('/admin/apikeys', 'get')).toEqual(['200', '400', '401', '403', '503'])
  })

  it('gives examples: a login body and an API key request and answer', () => {
    type Media = { example?: unknown; examples?: Record<string, { value: unknown }> }
    const exampleOf = (media: Media | undefined) => media?.example ?? Object.values(media?.examples ?? {})[0]?.value
    const body = (path: string) => (doc.paths[path]!.post as unknown as { requestBody: { content: Record<string, Media> } }).requestBody.content['application/json']
    expect(exampleOf(body('/login'))).toEqual({ username: 'admin', password: expect.any(String) })
    expect(exampleOf(body('/admin/apikeys'))).toEqual({ user_id: expect.any(String), expiration_date: expect.any(String) })
    const created = (doc.paths['/admin/apikeys']!.post!.responses['201'] as { content: Record<string, Media> }).content['application/json']
    expect(exampleOf(created)).toMatchObject({ api_key: expect.stringMatching(/^mlb_/), key_id: expect.any(String) })
  })

  it('tells, in the bearer scheme, how to get a token from /login', () => {
    expect((doc.components.securitySchemes.bearer as { description: string }).description).toMatch(/POST \/login/)
  })
})

describe('the OpenAPI document: groups, access and routes (issue 21)', () => {
  let backend: Backend
  let app: FastifyInstance
  let doc: Doc & { paths: Record<string, Record<string, Operation & { operationId?: string; summary?: string }>> }
  beforeAll(async () => {
    backend = await createBackend('embedded')
    app = await buildAuthServer({ backend, options: { publicBlocks: 'echo' } })
    doc = (await app.inject('/docs/json')).json()
  })
  afterAll(async () => {
    await app?.close()
    await backend?.drop()
  })

  it('gives every new route a snake_case operationId, a summary and a response per status', () => {
    const routes = [
      ['/admin/groups', 'post', 'create_group', ['201', '400', '401', '403', '409', '503']],
      ['/admin/groups', 'get', 'list_groups', ['200', '401', '403', '503']],
      ['/admin/groups/{id}', 'get', 'get_group', ['200', '400', '401', '403', '404', '503']],
      ['/admin/groups/{id}', 'patch', 'update_group', ['200', '400', '401', '403', '404', '409', '503']],
      ['/admin/groups/{id}', 'delete', 'delete_group', ['204', '400', '401', '403', '404', '503']],
      ['/admin/groups/{id}/members/{user_id}', 'put', 'add_group_member', ['204', '400', '401', '403', '404', '503']],
      ['/admin/groups/{id}/members/{user_id}', 'delete', 'remove_group_member', ['204', '400', '401', '403', '404', '503']],
      ['/admin/access/check', 'post', 'check_access', ['200', '400', '401', '403', '404', '503']],
      ['/admin/routes', 'get', 'list_route_access', ['200', '401', '403', '503']],
      ['/me', 'get', 'get_me', ['200', '401', '503']],
    ] as const
    for (const [path, method, operationId, statuses] of routes) {
      const op = doc.paths[path]?.[method]
      expect(op, `${method} ${path}`).toBeDefined()
      expect(op!.operationId).toBe(operationId)
      expect(op!.summary).toEqual(expect.any(String))
      expect(Object.keys(op!.responses).sort(), `${method} ${path}`).toEqual([...statuses].sort())
    }
  })

  it('names the precise 403 code of admin and block routes, and makes the credential optional on a public block', () => {
    const code403 = (path: string, method: string) =>
      (doc.paths[path]![method]!.responses['403'] as { content: { 'application/json': { schema: { properties: { code: { enum?: string[]; const?: string } } } } } }).content['application/json'].schema.properties.code
    const codeOf = (c: { enum?: string[]; const?: string }) => c.const ?? c.enum?.[0]
    expect(codeOf(code403('/admin/groups', 'post'))).toBe('MLB_ADMIN_ONLY')
    expect(codeOf(code403('/blocks/other/predict', 'post'))).toBe('MLB_BLOCK_NOT_GRANTED')
    const open = doc.paths['/blocks/echo/predict']!.post!
    expect(open.security).toEqual([{ bearer: [] }, { apiKey: [] }, {}])
    expect(Object.keys(open.responses)).toEqual(expect.arrayContaining(['401', '429']))
    expect(Object.keys(open.responses)).not.toContain('403')
  })
})
