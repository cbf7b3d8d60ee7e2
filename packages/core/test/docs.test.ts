import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineBlock, Type } from '../src/index.js'
import { buildTestServer, echoBlock } from './helpers.js'
import { openApiProblems } from '../../../test-support/openapi.js'

const classify = defineBlock({
  name: 'classify',
  description: 'Scores labels.',
  input: Type.Object({ text: Type.String(), labels: Type.Array(Type.String()) }),
  output: Type.Object({ scores: Type.Record(Type.String(), Type.Number()) }),
  predict: async () => ({ scores: {} }),
})

describe('OpenAPI docs', () => {
  let app: FastifyInstance
  beforeAll(async () => {
    app = await buildTestServer({ blocks: [echoBlock, classify] })
  })
  afterAll(() => app.close())

  it('serves the UI at /docs', async () => {
    const res = await app.inject('/docs/')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/html')
  })

  it('serves an OpenAPI 3 document at /docs/json in which each predict route has its block schemas', async () => {
    const res = await app.inject('/docs/json')
    expect(res.statusCode).toBe(200)
    const doc = res.json()
    expect(doc.openapi).toMatch(/^3\./)
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/blocks', '/blocks/echo', '/blocks/echo/predict', '/blocks/classify/predict', '/healthz', '/readyz']),
    )
    const predict = doc.paths['/blocks/classify/predict'].post
    expect(predict.summary).toBe('Scores labels.')
    expect(predict.requestBody.content['application/json'].schema).toMatchObject({
      required: ['text', 'labels'],
      properties: { labels: { type: 'array', items: { type: 'string' } } },
    })
    expect(predict.responses['200'].content['application/json'].schema).toMatchObject({ required: ['scores'] })
    expect(predict.responses['400'].content['application/json'].schema).toMatchObject({
      required: ['statusCode', 'code', 'error_message'],
    })
    expect(doc.paths['/blocks/echo/predict'].post.requestBody.content['application/json'].schema.required).toEqual(['text'])
    // The catch-all routes for unknown block names are not documented.
    expect(doc.paths['/blocks/{name}']).toBeUndefined()
  })

  it('serves a valid OpenAPI document: every operation has an operationId, a summary and a description per answer', async () => {
    const doc = (await app.inject('/docs/json')).json()
    expect(await openApiProblems(doc)).toEqual([])
    expect(doc.paths['/blocks/classify/predict'].post.responses['503'].description).toMatch(/loading/)
    expect(doc.paths['/blocks/classify/predict'].post.responses['400'].description).toMatch(/^Bad input/)
  })

  it('declares no security scheme without an access-control plugin, so the UI offers no Authorize', async () => {
    const doc = (await app.inject('/docs/json')).json()
    expect(doc.components.securitySchemes ?? {}).toEqual({})
    for (const methods of Object.values(doc.paths) as Record<string, { security?: unknown }>[]) {
      for (const op of Object.values(methods)) expect(op.security).toBeUndefined()
    }
  })

  it("titles the UI MLBlocks and shows MLBlocks' logo, not Fastify's", async () => {
    expect((await app.inject('/docs/')).body).toContain('<title>MLBlocks API</title>')
    const initializer = (await app.inject('/docs/static/swagger-initializer.js')).body
    const logo = Buffer.from(/data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)/.exec(initializer)?.[1] ?? '', 'base64').toString()
    expect(logo).toMatch(/^<svg [^>]*viewBox="0 0 64 64"/)
    expect(logo).not.toMatch(/fastify/i)
  })

  it('lets a plugin declare a security scheme its routes use', async () => {
    const server = await buildTestServer(
      { blocks: [echoBlock] },
      { plugins: { [new URL('./fixtures/openapi-plugin.mjs', import.meta.url).pathname]: true } },
    )
    const doc = (await server.inject('/docs/json')).json()
    expect(doc.components.securitySchemes).toEqual({ bearer: { type: 'http', scheme: 'bearer' } })
    expect(doc.paths['/fixture/secured'].get.security).toEqual([{ bearer: [] }])
    await server.close()
  })
})
