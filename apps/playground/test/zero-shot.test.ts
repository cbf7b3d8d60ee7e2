import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AutoModelForSequenceClassification, AutoTokenizer, pipeline } from '@huggingface/transformers'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nliModel } from '../src/blocks/zero-shot/model.js'
import { zeroShotClassification, zeroShotSettings } from '../src/blocks/zero-shot/index.js'
import { buildServer, forbidNetwork, SEED, TINY_MODELS, tinyModel } from './helpers.js'
import { openApiProblems } from '../../../test-support/openapi.js'

type Reply = { scores: Record<string, number>; labels: string[] }
/** The stock transformers.js pipeline on the same model: one forward pass per class. */
type Stock = (text: string, classes: string[], options: { multi_label: boolean }) => Promise<{ labels: string[]; scores: number[] }>

/** Same score per class to 1e-5, and labels ordered by score (ties may come in either order). */
function expectSameAsStock(reply: Reply, expected: { labels: string[]; scores: number[] }) {
  expect(Object.keys(reply.scores).sort()).toEqual([...expected.labels].sort())
  expected.labels.forEach((label, i) => expect(Math.abs(reply.scores[label]! - expected.scores[i]!)).toBeLessThan(1e-5))
  expect(reply.labels.map((l) => reply.scores[l]!)).toEqual(Object.values(reply.scores).sort((a, b) => b - a))
}

describe.each(TINY_MODELS)('zero-shot-classification on the tiny %s-typed model (offline, real transformers.js)', (kind) => {
  let model: Awaited<ReturnType<typeof tinyModel>>
  let allowNetwork: () => void
  let app: FastifyInstance
  let stock: Stock

  beforeAll(async () => {
    allowNetwork = forbidNetwork()
    model = await tinyModel(kind)
    const settings = zeroShotSettings({ MLBLOCKS_ZSC_MODEL: model.dir, MLBLOCKS_ZSC_MAX_CLASSES: '8', MLBLOCKS_ZSC_MAX_TEXT: '300' })
    app = await buildServer({ blocks: [zeroShotClassification(settings)] })
    await app.mlblocks.blocks.settled()
    stock = (await pipeline('zero-shot-classification', model.dir, { dtype: 'q8' })) as unknown as Stock
  })

  afterAll(async () => {
    await app?.close()
    model?.remove()
    allowNetwork?.()
  })

  const predict = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/blocks/zero-shot-classification/predict', payload })

  it('loads from the local folder and reports ready', async () => {
    expect((await app.inject('/blocks/zero-shot-classification')).json()).toMatchObject({ status: 'ready' })
    expect((await app.inject('/readyz')).statusCode).toBe(200)
  })

  it('documents the block with the seed payload as its example, in a valid OpenAPI document', async () => {
    const doc = (await app.inject('/docs/json')).json()
    expect(await openApiProblems(doc)).toEqual([])
    const body = doc.paths['/blocks/zero-shot-classification/predict'].post.requestBody.content['application/json']
    expect(body.example).toEqual({ ...SEED, multipleTrue: true })
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

  it('plans waiting requests into passes by token length: a long text does not pad a pass of short ones', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(model.dir)
    const real = await AutoModelForSequenceClassification.from_pretrained(model.dir, { dtype: 'q8' })
    const shapes: number[][] = []
    const counted = Object.assign((inputs: { input_ids: { dims: number[] } }) => {
      shapes.push([...inputs.input_ids.dims])
      return (real as unknown as (i: unknown) => unknown)(inputs)
    }, { config: real.config })
    const nli = nliModel(tokenizer, counted as unknown as typeof real, { combine: true, maxPairs: 64 })
    const long = 'my laptop is broken and the battery is dead and the screen is cracked '.repeat(4)
    const hyps = ['This example is computer.', 'This example is phone.']
    const jobs = [nli.logits('hi', hyps), nli.logits(long, hyps), nli.logits('my phone', hyps), nli.logits(`${long}!`, hyps), nli.logits('pizza', hyps)]
    await Promise.all(jobs)
    // The first ran at once; then the oldest waiting (long) with the other long one, then the two short ones.
    expect(shapes.map(([rows]) => rows)).toEqual([2, 4, 4])
    expect(shapes[1]![1]!).toBeGreaterThan(60)
    expect(shapes[2]![1]!).toBeLessThan(20)
  })

  it('gives requests of very different lengths, combined into passes by length, the same scores as alone (to 1e-5)', async () => {
    const long = `${'My order was late and the package was broken, and the customer service did not help. '.repeat(3)}my laptop`
    const texts = ['my laptop is broken', long, 'I need a new phone today', `${long} and my phone`, SEED.text, 'pizza']
    const classes = ['computer', 'phone', 'food', 'urgent', 'delivery']
    const alone: Reply[] = []
    for (const text of texts) alone.push((await predict({ text, classes, multipleTrue: false })).json<Reply>())
    for (let round = 0; round < 3; round++) {
      const together = await Promise.all(texts.map((text) => predict({ text, classes, multipleTrue: false })))
      together.forEach((res, i) => {
        expect(res.statusCode).toBe(200)
        for (const c of classes) expect(Math.abs(res.json<Reply>().scores[c]! - alone[i]!.scores[c]!)).toBeLessThan(1e-5)
      })
    }
    expect(alone[1]!.labels[0]).toBe('computer')
  })

  it('cuts a text longer than the model takes at its end, not the hypothesis: scores as its beginning does, alone and combined', async () => {
    const server = await buildServer({ blocks: [zeroShotClassification(zeroShotSettings({ MLBLOCKS_ZSC_MODEL: model.dir, MLBLOCKS_ZSC_MAX_TEXT: '20000' }))] })
    await server.mlblocks.blocks.settled()
    const classes = ['phone', 'computer']
    const ask = (text: string) => server.inject({ method: 'POST', url: '/blocks/zero-shot-classification/predict', payload: { text, classes, multipleTrue: true } })
    // Far more tokens than either tiny model takes (512 and 1024): each 'q' and 'w' is a token of its own.
    const long = `my phone ${'q w '.repeat(800)}my laptop`
    const replies = await Promise.all([ask('pizza'), ask(long), ask('my laptop'), ask(`${long}!`)])
    expect(replies.map((r) => r.statusCode)).toEqual([200, 200, 200, 200])
    for (const r of [replies[1]!, replies[3]!]) {
      expect(r.json<Reply>().scores.phone).toBeGreaterThan(0.99) // its beginning is read
      expect(r.json<Reply>().scores.computer).toBeLessThan(0.01) // its end was cut
    }
    expect(replies[2]!.json<Reply>().labels[0]).toBe('computer')
    await server.close()
  })

  it("reads the model's own special tokens in a text or a class as plain text, alone and combined with others", async () => {
    // BART's head reads the last </s> of each row, picked from every </s> of the batch: a </s> typed
    // by one client would shift which row it reads, or fail the whole combined call.
    const special = kind === 'bart' ? '</s>' : '[SEP]'
    const classes = ['computer', 'phone', 'urgent']
    const plain = (await predict({ text: 'my laptop is broken', classes, multipleTrue: true })).json<Reply>()
    const seed = (await predict({ ...SEED, multipleTrue: true })).json<Reply>()
    const tricky = { text: `my laptop ${special}${special} is broken ${special}`, classes, multipleTrue: true }
    const alone = await predict(tricky)
    expect(alone.statusCode).toBe(200)
    for (const c of classes) expect(Math.abs(alone.json<Reply>().scores[c]! - plain.scores[c]!)).toBeLessThan(1e-6)
    const together = await Promise.all([predict({ ...SEED, multipleTrue: true }), predict(tricky), predict({ ...SEED, multipleTrue: true })])
    expect(together.map((r) => r.statusCode)).toEqual([200, 200, 200])
    expect(together[1]!.json()).toEqual(alone.json())
    for (const r of [together[0]!, together[2]!]) for (const c of SEED.classes) expect(Math.abs(r.json<Reply>().scores[c]! - seed.scores[c]!)).toBeLessThan(1e-6)
    const inClass = await predict({ text: 'my laptop is broken', classes: ['computer', `phone ${special}`], multipleTrue: true })
    expect(inClass.statusCode).toBe(200)
    expect(inClass.json<Reply>().scores.computer).toBeCloseTo(plain.scores.computer!, 6)
    expect(inClass.json<Reply>().scores[`phone ${special}`]).toBeCloseTo(plain.scores.phone!, 6)
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
    const missing = join(tmpdir(), 'mlb-no-such-model')
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
