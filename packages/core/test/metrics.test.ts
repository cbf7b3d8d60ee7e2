import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { defineBlock, Type } from '../src/index.js'
import { buildTestServer, deferred, echoBlock, errorShape, gatedBlock } from './helpers.js'
import { sample } from '../../../test-support/prometheus.js'

const failing = defineBlock({
  name: 'broken',
  description: 'Answers outside its output schema.',
  input: Type.Object({}),
  output: Type.Object({ n: Type.Integer() }),
  predict: async () => ({ n: 'no' }) as unknown as { n: number },
})

describe('GET /metrics', () => {
  let app: FastifyInstance | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  it('counts each block’s predicts by status, with a latency histogram, in Prometheus text', async () => {
    app = await buildTestServer({ blocks: [echoBlock, failing] }, { loadRetry: false })
    await app.mlblocks.blocks.settled()
    for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'hi' } })
    await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: '' } })
    await app.inject({ method: 'POST', url: '/blocks/broken/predict', payload: {} })
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = res.body
    expect(sample(text, 'mlblocks_block_requests_total{block="echo",status="200"}')).toBe(3)
    expect(sample(text, 'mlblocks_block_requests_total{block="echo",status="400"}')).toBe(1)
    expect(sample(text, 'mlblocks_block_requests_total{block="broken",status="500"}')).toBe(1)
    expect(sample(text, 'mlblocks_block_request_duration_seconds_count{block="echo"}')).toBe(4)
    expect(sample(text, 'mlblocks_block_request_duration_seconds_bucket{le="+Inf",block="echo"}')).toBe(4)
    expect(sample(text, 'mlblocks_block_state{block="echo",state="ready"}')).toBe(1)
    expect(sample(text, 'mlblocks_block_state{block="echo",state="loading"}')).toBe(0)
    expect(sample(text, 'mlblocks_block_load_seconds{block="echo"}')).toBe(0)
    // Node's process metrics, from prom-client's defaults.
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect(text).toContain('nodejs_eventloop_lag_seconds')
    // Unknown block names are 404s of no block: they never make a series (an attacker cannot grow it).
    await app.inject({ method: 'POST', url: '/blocks/nope/predict', payload: {} })
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).not.toContain('block="nope"')
  })

  it('reports the load state while loading, then the load time once ready', async () => {
    const gate = deferred()
    app = await buildTestServer({ blocks: [gatedBlock('slow', gate.promise, 0.5)] })
    let text = (await app.inject({ method: 'GET', url: '/metrics' })).body
    expect(sample(text, 'mlblocks_block_state{block="slow",state="loading"}')).toBe(1)
    expect(sample(text, 'mlblocks_block_state{block="slow",state="ready"}')).toBe(0)
    expect(sample(text, 'mlblocks_block_load_seconds{block="slow"}')).toBeUndefined()
    await app.inject({ method: 'POST', url: '/blocks/slow/predict', payload: { n: 1 } })
    gate.resolve()
    await app.mlblocks.blocks.settled()
    text = (await app.inject({ method: 'GET', url: '/metrics' })).body
    expect(sample(text, 'mlblocks_block_state{block="slow",state="ready"}')).toBe(1)
    expect(sample(text, 'mlblocks_block_load_seconds{block="slow"}')).toBeGreaterThan(0)
    expect(sample(text, 'mlblocks_block_requests_total{block="slow",status="503"}')).toBe(1)
  })

  it('two servers in one process count apart', async () => {
    app = await buildTestServer()
    const other = await buildTestServer()
    try {
      await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'a' } })
      const mine = (await app.inject({ method: 'GET', url: '/metrics' })).body
      const theirs = (await other.inject({ method: 'GET', url: '/metrics' })).body
      expect(sample(mine, 'mlblocks_block_requests_total{block="echo",status="200"}')).toBe(1)
      expect(sample(theirs, 'mlblocks_block_requests_total{block="echo",status="200"}')).toBeUndefined()
    } finally {
      await other.close()
    }
  })

  it('is listed in the OpenAPI document with its text/plain answer', async () => {
    app = await buildTestServer()
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    expect(doc.paths['/metrics'].get.operationId).toBe('metrics')
    expect(Object.keys(doc.paths['/metrics'].get.responses['200'].content)).toEqual(['text/plain'])
  })

  it('MLBLOCKS_METRICS_ENABLED=false: no /metrics route (404) and nothing counted', async () => {
    app = await buildTestServer({ blocks: [echoBlock] }, { env: { MLBLOCKS_METRICS_ENABLED: 'false' } })
    expect(app.mlblocks.metrics).toBeUndefined()
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual(errorShape(404, 'MLB_NOT_FOUND'))
  })

  it('MLBLOCKS_METRICS_ENABLED=maybe stops start-up naming the setting', async () => {
    await expect(buildTestServer({ blocks: [echoBlock] }, { env: { MLBLOCKS_METRICS_ENABLED: 'maybe' } })).rejects.toThrow(
      "MLBLOCKS_METRICS_ENABLED must be true, false, 1 or 0; got 'maybe'.",
    )
  })
})
