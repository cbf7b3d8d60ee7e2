import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineBlock, Type } from '../src/index.js'
import { buildTestServer, echoBlock } from './helpers.js'

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
