import { expect, it } from 'vitest'
import { buildTestServer, echoBlock, errorShape } from './helpers.js'

it('/readyz reports a dependency a plugin registered: 503 naming it while down (or silent), 200 once back', async () => {
  const state = ((globalThis as { __readinessFixture?: { up: boolean; hang: boolean } }).__readinessFixture ??= { up: true, hang: false })
  const app = await buildTestServer(
    { blocks: [echoBlock] },
    { plugins: { [new URL('./fixtures/readiness-plugin.mjs', import.meta.url).pathname]: true } },
  )
  await app.mlblocks.blocks.settled()
  expect((await app.inject('/readyz')).statusCode).toBe(200)
  state.up = false
  expect((await app.inject('/readyz')).json()).toEqual(errorShape(503, 'MLB_NOT_READY', 'Not ready: database is unavailable: connection refused.'))
  state.up = true
  state.hang = true
  const started = Date.now()
  expect((await app.inject('/readyz')).json()).toEqual(errorShape(503, 'MLB_NOT_READY', 'Not ready: database is unavailable: no answer within 2 s.'))
  expect(Date.now() - started).toBeLessThan(5000)
  state.hang = false
  expect((await app.inject('/readyz')).statusCode).toBe(200)
  expect((await app.inject('/healthz')).statusCode).toBe(200)
  await app.close()
})
