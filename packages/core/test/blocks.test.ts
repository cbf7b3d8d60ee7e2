import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { defineBlock, Type } from '../src/index.js'
import { buildTestServer, deferred, echoBlock, errorShape, gatedBlock, logCollector } from './helpers.js'

describe('GET /blocks', () => {
  let app: FastifyInstance
  beforeAll(async () => {
    app = await buildTestServer({ blocks: [echoBlock] })
    await app.mlblocks.blocks.settled()
  })
  afterAll(() => app.close())

  it('answers 200 with every block: name, description, status and both JSON schemas', async () => {
    const res = await app.inject({ method: 'GET', url: '/blocks' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual([
      {
        name: 'echo',
        description: 'Returns its text.',
        status: 'ready',
        input: {
          type: 'object',
          additionalProperties: false,
          required: ['text'],
          properties: { text: { type: 'string', minLength: 1, maxLength: 100 } },
        },
        output: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } },
      },
    ])
  })

  it('answers GET /blocks/:name with that block', async () => {
    const res = await app.inject({ method: 'GET', url: '/blocks/echo' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ name: 'echo', status: 'ready' })
  })

  it('answers 404 MLB_BLOCK_NOT_FOUND for an unknown block, naming it', async () => {
    const res = await app.inject({ method: 'GET', url: '/blocks/nope' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual(errorShape(404, 'MLB_BLOCK_NOT_FOUND', "No block named 'nope'. GET /blocks lists the blocks you can call."))
  })

  it('filters the list through request.blockAccess when a plugin sets it', async () => {
    const filtered = await buildTestServer({ blocks: [echoBlock, gatedBlock('other', Promise.resolve())] }, {
      plugins: { [new URL('./fixtures/only-echo-plugin.mjs', import.meta.url).pathname]: true },
    })
    const res = await filtered.inject({ method: 'GET', url: '/blocks' })
    expect(res.json().map((b: { name: string }) => b.name)).toEqual(['echo'])
    await filtered.close()
  })
})

describe('POST /blocks/:name/predict', () => {
  let app: FastifyInstance
  beforeAll(async () => {
    app = await buildTestServer({ blocks: [echoBlock] })
    await app.mlblocks.blocks.settled()
  })
  afterAll(() => app.close())

  it('answers 200 with the block output', async () => {
    const res = await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'hello' } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ text: 'hello' })
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('answers 400 MLB_BAD_INPUT naming the field when the body fails the schema', async () => {
    const res = await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: '' } })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual(errorShape(400, 'MLB_BAD_INPUT', 'body.text must NOT have fewer than 1 characters.'))
  })

  it('answers 400 MLB_BAD_INPUT for a missing field and for a wrong type', async () => {
    const missing = await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: {} })
    expect(missing.json()).toEqual(errorShape(400, 'MLB_BAD_INPUT', "body is missing the required field 'text'."))
    const wrongType = await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: ['a'] } })
    expect(wrongType.json()).toEqual(errorShape(400, 'MLB_BAD_INPUT', 'body.text must be a string.'))
  })

  it('answers 400 MLB_BAD_INPUT for an unknown field instead of dropping it', async () => {
    const res = await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'a', role: 'admin' } })
    expect(res.json()).toEqual(
      errorShape(400, 'MLB_BAD_INPUT', "body has an unknown field 'role'. Remove it; GET /docs shows the schema."),
    )
  })

  it('answers 404 MLB_BLOCK_NOT_FOUND for an unknown block', async () => {
    const res = await app.inject({ method: 'POST', url: '/blocks/nope/predict', payload: { text: 'a' } })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual(errorShape(404, 'MLB_BLOCK_NOT_FOUND'))
  })

  it('passes a block error with an MLB_ 4xx code through, and hides any other error behind 500', async () => {
    const picky = defineBlock({
      name: 'picky',
      description: 'Refuses some input.',
      input: Type.Object({ word: Type.String() }),
      output: Type.Object({ ok: Type.Boolean() }),
      predict: async ({ word }) => {
        if (word === 'bad') throw Object.assign(new Error("The word 'bad' is not allowed."), { code: 'MLB_BAD_INPUT', statusCode: 400 })
        if (word === 'boom') throw new Error('connection string postgres://secret@db failed')
        return { ok: true }
      },
    })
    const server = await buildTestServer({ blocks: [picky] })
    await server.mlblocks.blocks.settled()
    const bad = await server.inject({ method: 'POST', url: '/blocks/picky/predict', payload: { word: 'bad' } })
    expect(bad.json()).toEqual(errorShape(400, 'MLB_BAD_INPUT', "The word 'bad' is not allowed."))
    const boom = await server.inject({ method: 'POST', url: '/blocks/picky/predict', payload: { word: 'boom' } })
    expect(boom.statusCode).toBe(500)
    expect(boom.json()).toEqual(
      errorShape(500, 'MLB_INTERNAL', 'Something went wrong on the server. The details are in the server log under this request id.'),
    )
    expect(boom.body).not.toContain('secret')
    await server.close()
  })
})

describe('block lifecycle', () => {
  let app: FastifyInstance | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  it('goes loading → ready: /healthz answers at once, predict and /readyz answer 503 with Retry-After until loaded', async () => {
    const gate = deferred()
    app = await buildTestServer({ blocks: [gatedBlock('slow', gate.promise, 0.25)] })

    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' })
    expect((await app.inject('/blocks/slow')).json()).toMatchObject({ status: 'loading', progress: 0.25 })
    const early = await app.inject({ method: 'POST', url: '/blocks/slow/predict', payload: { n: 2 } })
    expect(early.statusCode).toBe(503)
    expect(early.headers['retry-after']).toBe('5')
    expect(early.json()).toEqual(
      errorShape(503, 'MLB_BLOCK_LOADING', "Block 'slow' is still loading (25%). Retry after the number of seconds in the Retry-After header."),
    )
    const notReady = await app.inject('/readyz')
    expect(notReady.statusCode).toBe(503)
    expect(notReady.json()).toEqual(errorShape(503, 'MLB_NOT_READY', "Not ready: block 'slow' is still loading (25%)."))

    gate.resolve()
    await app.mlblocks.blocks.settled()
    expect((await app.inject('/blocks/slow')).json()).toMatchObject({ status: 'ready' })
    expect((await app.inject('/blocks/slow')).json()).not.toHaveProperty('progress')
    const ready = await app.inject({ method: 'POST', url: '/blocks/slow/predict', payload: { n: 2 } })
    expect(ready.json()).toEqual({ doubled: 4 })
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready', blocks: { slow: 'ready' } })
  })

  it('goes loading → failed: the reason shows on the block, on /readyz and on predict (503 with Retry-After)', async () => {
    const gate = deferred()
    app = await buildTestServer({ blocks: [gatedBlock('broken', gate.promise), echoBlock] }, { loadRetry: false })
    gate.reject(new Error('weights not found in /models/broken'))
    await app.mlblocks.blocks.settled()

    expect((await app.inject('/blocks/broken')).json()).toMatchObject({ status: 'failed', reason: 'weights not found in /models/broken' })
    const predict = await app.inject({ method: 'POST', url: '/blocks/broken/predict', payload: { n: 1 } })
    expect(predict.statusCode).toBe(503)
    expect(predict.headers['retry-after']).toBe('60')
    expect(predict.json()).toEqual(errorShape(503, 'MLB_BLOCK_FAILED', "Block 'broken' failed to load: weights not found in /models/broken"))
    const readyz = await app.inject('/readyz')
    expect(readyz.statusCode).toBe(503)
    expect(readyz.json()).toEqual(
      errorShape(503, 'MLB_NOT_READY', "Not ready: block 'broken' failed to load: weights not found in /models/broken."),
    )
    // The other block is unaffected.
    expect((await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'x' } })).statusCode).toBe(200)
  })

  it('does not double the period of a reason that ends with one', async () => {
    const gate = deferred()
    app = await buildTestServer({ blocks: [gatedBlock('dotted', gate.promise)] }, { loadRetry: false })
    gate.reject(new Error('Check MLBLOCKS_ZSC_MODEL.'))
    await app.mlblocks.blocks.settled()
    expect((await app.inject('/readyz')).json().error_message).toBe("Not ready: block 'dotted' failed to load: Check MLBLOCKS_ZSC_MODEL.")
  })

  it('refuses invalid or duplicate block names at start-up', async () => {
    await expect(buildTestServer({ blocks: [{ ...echoBlock, name: 'Bad Name' }] })).rejects.toThrow(
      "Block name 'Bad Name' is not valid: use 1-64 lowercase letters, digits and dashes.",
    )
    await expect(buildTestServer({ blocks: [echoBlock, echoBlock] })).rejects.toThrow("Two blocks are named 'echo'.")
  })
})

/** A block whose load() fails `failures` times, then loads; `loads` counts the attempts. */
function flakyBlock(name: string, failures: number) {
  const calls = { loads: 0 }
  const block = defineBlock({
    name,
    description: 'Fails to load a few times, then loads.',
    input: Type.Object({ n: Type.Integer() }, { additionalProperties: false }),
    output: Type.Object({ n: Type.Integer() }),
    load: async () => {
      calls.loads++
      if (calls.loads <= failures) throw new Error(`model folder /models/${name} is not there yet (attempt ${calls.loads})`)
      return 1
    },
    predict: async ({ n }) => ({ n }),
  })
  return { block, calls }
}

const until = async (what: () => Promise<boolean> | boolean, ms = 10_000) => {
  const end = Date.now() + ms
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('a failed load is retried', () => {
  let app: FastifyInstance | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  it('with a capped back-off: failed with retry_at, then loading again, then ready by itself; logged each time', async () => {
    const { block, calls } = flakyBlock('late', 3)
    const log = logCollector()
    app = await buildTestServer({ blocks: [block] }, { loadRetry: { firstDelayMs: 600, maxDelayMs: 900 }, logStream: log.stream, server: { logLevel: 'info' } })
    await app.mlblocks.blocks.settled()
    const failed = (await app.inject('/blocks/late')).json()
    expect(failed).toMatchObject({ status: 'failed', reason: 'model folder /models/late is not there yet (attempt 1)' })
    expect(Date.parse(failed.retry_at) - Date.now()).toBeGreaterThan(0)
    expect(Date.parse(failed.retry_at) - Date.now()).toBeLessThanOrEqual(600)
    const predict = await app.inject({ method: 'POST', url: '/blocks/late/predict', payload: { n: 1 } })
    expect(predict.headers['retry-after']).toBe('1')
    expect(predict.json()).toEqual(
      errorShape(503, 'MLB_BLOCK_FAILED', "Block 'late' failed to load: model folder /models/late is not there yet (attempt 1). Next attempt in 1 s."),
    )

    await until(async () => (await app!.inject('/blocks/late')).json().status === 'ready')
    expect(calls.loads).toBe(4)
    expect((await app.inject({ method: 'POST', url: '/blocks/late/predict', payload: { n: 7 } })).json()).toEqual({ n: 7 })
    expect((await app.inject('/readyz')).statusCode).toBe(200)
    const lines = log.lines.map((l) => JSON.parse(l)).filter((l) => l.block === 'late')
    expect(lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual([
      'block failed to load; trying again in 600 ms',
      'block failed to load; trying again in 900 ms', // 1200 capped at 900
      'block failed to load; trying again in 900 ms',
    ])
    expect(lines.filter((l) => l.msg === 'loading block again').map((l) => l.attempt)).toEqual([2, 3, 4])
    expect(lines.at(-1)).toMatchObject({ msg: 'block ready', attempt: 4 })
  })

  it('answers predict with a Retry-After that matches the real next attempt, also on /readyz; a flood starts no extra load', async () => {
    const { block, calls } = flakyBlock('later', 1)
    app = await buildTestServer({ blocks: [block] }, { loadRetry: { firstDelayMs: 30_000 } })
    await app.mlblocks.blocks.settled()
    const { retry_at } = (await app.inject('/blocks/later')).json()
    const predict = await app.inject({ method: 'POST', url: '/blocks/later/predict', payload: { n: 1 } })
    const expected = Math.ceil((Date.parse(retry_at) - Date.now()) / 1000)
    expect(Number(predict.headers['retry-after'])).toBeGreaterThanOrEqual(expected - 1)
    expect(Number(predict.headers['retry-after'])).toBeLessThanOrEqual(30)
    expect(Number(predict.headers['retry-after'])).toBeGreaterThanOrEqual(28)
    expect((await app.inject('/readyz')).json().error_message).toBe(
      `Not ready: block 'later' failed to load: model folder /models/later is not there yet (attempt 1) (next attempt at ${retry_at}).`,
    )
    const answers = await Promise.all(Array.from({ length: 100 }, () => app!.inject({ method: 'POST', url: '/blocks/later/predict', payload: { n: 1 } })))
    expect(new Set(answers.map((a) => a.statusCode))).toEqual(new Set([503]))
    expect(calls.loads).toBe(1)
  })

  it('stops retrying once the server closes', async () => {
    const { block, calls } = flakyBlock('gone', 100)
    app = await buildTestServer({ blocks: [block] }, { loadRetry: { firstDelayMs: 50, maxDelayMs: 50 } })
    await until(() => calls.loads >= 2)
    await app.close()
    app = undefined
    const after = calls.loads
    await new Promise((r) => setTimeout(r, 300))
    expect(calls.loads).toBe(after)
  })

  it('refuses a retry setting that is not a positive number of milliseconds', async () => {
    await expect(buildTestServer({ blocks: [echoBlock] }, { loadRetry: { firstDelayMs: 0 } })).rejects.toThrow(
      "loadRetry.firstDelayMs must be a number of milliseconds from 1 to 2147483647; got '0'.",
    )
  })
})

describe('a block whose predict answers outside its output schema', () => {
  const answers: Record<string, unknown> = {
    null: null,
    'wrong-type': { label: 'a', scores: 'high' },
    missing: { label: 'a' },
    'nested-wrong': { label: 'a', scores: [0.5, 'x'] },
  }
  const liar = defineBlock({
    name: 'liar',
    description: 'Answers whatever the test asks for.',
    input: Type.Object({ answer: Type.String() }, { additionalProperties: false }),
    output: Type.Object({ label: Type.String(), scores: Type.Array(Type.Number()) }),
    predict: async ({ answer }) => answers[answer] as never,
  })
  const log = logCollector()
  let app: FastifyInstance
  beforeAll(async () => {
    app = await buildTestServer({ blocks: [liar] }, { logStream: log.stream, server: { logLevel: 'info' } })
  })
  afterAll(() => app.close())

  it.each([
    ['null', 'output must be an object.'],
    ['wrong-type', 'output.scores must be an array.'],
    ['missing', "output is missing the required field 'scores'."],
    ['nested-wrong', 'output.scores[1] must be a number.'],
  ])('answers 500 MLB_INTERNAL for %s (never 200 {}), and logs the block and the field', async (answer, field) => {
    const res = await app.inject({ method: 'POST', url: '/blocks/liar/predict', payload: { answer } })
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual(
      errorShape(500, 'MLB_INTERNAL', 'Something went wrong on the server. The details are in the server log under this request id.'),
    )
    const line = log.lines.map((l) => JSON.parse(l)).find((l) => l.reqId === res.headers['x-request-id'] && l.level === 50)
    expect(line?.err?.message).toBe(`block 'liar' answered outside its output schema: ${field}`)
  })

  it('still answers 200 when the output fits', async () => {
    answers.fine = { label: 'a', scores: [0.25], extra: 'dropped' }
    const res = await app.inject({ method: 'POST', url: '/blocks/liar/predict', payload: { answer: 'fine' } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ label: 'a', scores: [0.25] })
  })
})
