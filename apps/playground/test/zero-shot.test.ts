import { AutoModelForSequenceClassification, AutoTokenizer, pipeline } from '@huggingface/transformers'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nliModel } from '../src/blocks/zero-shot/model.js'
import { zeroShotClassification, zeroShotSettings } from '../src/blocks/zero-shot/index.js'
import { buildServer, forbidNetwork, SEED, tinyModel } from './helpers.js'

type Reply = { scores: Record<string, number>; labels: string[] }

let model: Awaited<ReturnType<typeof tinyModel>>
let allowNetwork: () => void
let app: FastifyInstance
/** The stock transformers.js pipeline on the same model: one forward pass per class. */
let stock: (text: string, classes: string[], options: { multi_label: boolean }) => Promise<{ labels: string[]; scores: number[] }>

beforeAll(async () => {
  allowNetwork = forbidNetwork()
  model = await tinyModel()
  const settings = zeroShotSettings({ MLBLOCKS_ZSC_MODEL: model.dir, MLBLOCKS_ZSC_MAX_CLASSES: '8', MLBLOCKS_ZSC_MAX_TEXT: '300' })
  app = await buildServer({ blocks: [zeroShotClassification(settings)] })
  await app.mlblocks.blocks.settled()
  stock = (await pipeline('zero-shot-classification', model.dir, { dtype: 'q8' })) as unknown as typeof stock
})

afterAll(async () => {
  await app?.close()
  model?.remove()
  allowNetwork?.()
})

const predict = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/blocks/zero-shot-classification/predict', payload })

/** Same score per class to 1e-5, and labels ordered by score (ties may come in either order). */
function expectSameAsStock(reply: Reply, expected: { labels: string[]; scores: number[] }) {
  expect(Object.keys(reply.scores).sort()).toEqual([...expected.labels].sort())
  expected.labels.forEach((label, i) => expect(Math.abs(reply.scores[label]! - expected.scores[i]!)).toBeLessThan(1e-5))
  expect(reply.labels.map((l) => reply.scores[l]!)).toEqual(Object.values(reply.scores).sort((a, b) => b - a))
}

describe('zero-shot-classification on the tiny model (offline, real transformers.js)', () => {
  it('loads from the local folder and reports ready', async () => {
    expect((await app.inject('/blocks/zero-shot-classification')).json()).toMatchObject({ status: 'ready' })
    expect((await app.inject('/readyz')).statusCode).toBe(200)
  })

  it('scores the seed example with multipleTrue: each class on its own, as the stock pipeline does', async () => {
    const res = await predict({ ...SEED, multipleTrue: true })
    expect(res.statusCode).toBe(200)
    const reply = res.json<Reply>()
    for (const score of Object.values(reply.scores)) expect(score).toBeGreaterThanOrEqual(0)
    for (const score of Object.values(reply.scores)) expect(score).toBeLessThanOrEqual(1)
    const scores = reply.labels.map((l) => reply.scores[l]!)
    expect(scores).toEqual([...scores].sort((a, b) => b - a))
    expectSameAsStock(reply, await stock(SEED.text, SEED.classes, { multi_label: true }))
    // The tiny model knows asap ~ urgent and iphone ~ phone; "not urgent" half-matches.
    expect(reply.labels.slice(0, 2).sort()).toEqual(['phone', 'urgent'])
    expect(reply.scores.urgent).toBeGreaterThan(0.99)
    expect(reply.scores['not urgent']).toBeCloseTo(0.5, 6)
    expect(reply.scores.tablet).toBeLessThan(0.01)
  })

  it('scores with a softmax across the classes when multipleTrue is false (the default): they sum to 1', async () => {
    const reply = (await predict(SEED)).json<Reply>()
    expect(Object.values(reply.scores).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6)
    expectSameAsStock(reply, await stock(SEED.text, SEED.classes, { multi_label: false }))
    const explicit = (await predict({ ...SEED, multipleTrue: false })).json<Reply>()
    expect(explicit).toEqual(reply)
  })

  it('scores a single class on its own, whatever multipleTrue says', async () => {
    const one = (await predict({ text: SEED.text, classes: ['phone'], multipleTrue: false })).json<Reply>()
    expectSameAsStock(one, await stock(SEED.text, ['phone'], { multi_label: false }))
    expect(one.scores.phone).toBeLessThan(1)
  })

  it('runs every hypothesis of a request through the model in ONE call', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(model.dir)
    const real = await AutoModelForSequenceClassification.from_pretrained(model.dir, { dtype: 'q8' })
    let calls = 0
    const counted = Object.assign((inputs: unknown) => {
      calls += 1
      return (real as unknown as (i: unknown) => unknown)(inputs)
    }, { config: real.config })
    const nli = nliModel(tokenizer, counted as unknown as typeof real)
    const logits = await nli.logits(SEED.text, SEED.classes.map((c) => `This example is ${c}.`))
    expect(calls).toBe(1)
    expect(logits).toHaveLength(5)
    expect(logits[0]).toHaveLength(3)
  })

  it('gives each of many concurrent requests its own answer when they share one model call', async () => {
    const texts = ['my laptop is broken', 'I need a new phone today', 'the pizza delivery is late', SEED.text]
    const classes = ['computer', 'phone', 'food', 'urgent']
    const alone: Reply[] = []
    for (const text of texts) alone.push((await predict({ text, classes, multipleTrue: true })).json<Reply>())
    const together = await Promise.all(texts.map((text) => predict({ text, classes, multipleTrue: true })))
    together.forEach((res, i) => {
      for (const c of classes) expect(Math.abs(res.json<Reply>().scores[c]! - alone[i]!.scores[c]!)).toBeLessThan(1e-6)
    })
    expect(alone[0]!.labels[0]).toBe('computer')
    expect(alone[1]!.labels[0]).toBe('phone')
  })

  it.each([
    ['empty text', { text: '', classes: ['a'] }, 'body.text must NOT have fewer than 1 characters.'],
    ['blank text', { text: '   ', classes: ['a'] }, 'body.text is blank: send the text to classify.'],
    ['over-long text', { text: 'x'.repeat(301), classes: ['a'] }, 'body.text must NOT have more than 300 characters.'],
    ['no classes', { text: 'hi', classes: [] }, 'body.classes must NOT have fewer than 1 items.'],
    ['a missing classes field', { text: 'hi' }, "body is missing the required field 'classes'."],
    ['an empty class name', { text: 'hi', classes: ['a', ''] }, 'body.classes[1] must NOT have fewer than 1 characters.'],
    ['a blank class name', { text: 'hi', classes: ['a', ' '] }, 'body.classes has a blank class name: every class needs a name.'],
    ['a duplicate class', { text: 'hi', classes: ['phone', 'tablet', 'phone'] }, "body.classes has 'phone' more than once: each class must be unique."],
    ['too many classes', { text: 'hi', classes: ['1', '2', '3', '4', '5', '6', '7', '8', '9'] }, 'body.classes must NOT have more than 8 items.'],
    ['multipleTrue as a string', { text: 'hi', classes: ['a'], multipleTrue: 'yes' }, 'body.multipleTrue must be a boolean.'],
    ['an unknown field', { text: 'hi', classes: ['a'], labels: ['b'] }, "body has an unknown field 'labels'. Remove it; GET /docs shows the schema."],
  ])('answers 400 MLB_BAD_INPUT for %s', async (_what, payload, message) => {
    const res = await predict(payload)
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ statusCode: 400, code: 'MLB_BAD_INPUT', error_message: message })
  })
})

describe('zero-shot-classification with a missing model folder', () => {
  it('fails to load: block failed, /readyz 503, predict 503 naming MLBLOCKS_ZSC_MODEL', async () => {
    const missing = `${model.dir}-missing`
    const server = await buildServer({ blocks: [zeroShotClassification(zeroShotSettings({ MLBLOCKS_ZSC_MODEL: missing }))] }, { loadRetry: false })
    await server.mlblocks.blocks.settled()
    const reason = `MLBLOCKS_ZSC_MODEL points to the folder ${missing}, which does not exist: put the model there (config.json, tokenizer files, onnx/), or set MLBLOCKS_ZSC_MODEL to a hub id such as Xenova/bart-large-mnli.`
    expect((await server.inject('/blocks/zero-shot-classification')).json()).toMatchObject({ status: 'failed', reason })
    const readyz = await server.inject('/readyz')
    expect(readyz.statusCode).toBe(503)
    expect(readyz.json().error_message).toContain('MLBLOCKS_ZSC_MODEL')
    const res = await server.inject({ method: 'POST', url: '/blocks/zero-shot-classification/predict', payload: SEED })
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('60')
    expect(res.json()).toEqual({
      statusCode: 503,
      code: 'MLB_BLOCK_FAILED',
      error_message: `Block 'zero-shot-classification' failed to load: ${reason}`,
    })
    await server.close()
  })
})
