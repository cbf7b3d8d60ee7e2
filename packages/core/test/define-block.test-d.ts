import { describe, expectTypeOf, it } from 'vitest'
import { defineBlock, Type, type BlockDefinition, type Static } from '../src/index.js'

const input = Type.Object({ text: Type.String() })
const Sentiment = Type.Object({
  label: Type.Union([Type.Literal('positive'), Type.Literal('negative')]),
  score: Type.Number(),
  tags: Type.Array(Type.Union([Type.Literal('short'), Type.Literal('long')])),
})

describe('defineBlock infers literal unions', () => {
  it('from an async predict, with no `as const`', () => {
    const block = defineBlock({
      name: 'sentiment',
      description: 'x',
      input,
      output: Sentiment,
      async predict({ text }) {
        const label = text.includes('good') ? 'positive' : 'negative'
        if (text === '') return { label: 'negative', score: 0, tags: [] }
        return { label, score: 0.9, tags: [text.length > 10 ? 'long' : 'short'] }
      },
    })
    expectTypeOf(block).toEqualTypeOf<BlockDefinition<typeof input, typeof Sentiment, undefined>>()
  })

  it('from an arrow predict and a sync one, with the state from load()', () => {
    defineBlock({
      name: 'arrow',
      description: 'x',
      input,
      output: Sentiment,
      load: async () => ({ threshold: 0.5 }),
      predict: async ({ text }, state) => {
        expectTypeOf(state).toEqualTypeOf<{ threshold: number }>()
        return { label: text.length > state.threshold ? 'positive' : 'negative', score: state.threshold, tags: ['short'] }
      },
    })
    defineBlock({ name: 'sync', description: 'x', input, output: Sentiment, predict: () => ({ label: 'positive', score: 1, tags: [] }) })
  })

  it('still refuses an answer outside the union, a wrong type and a missing field', () => {
    defineBlock({
      name: 'bad',
      description: 'x',
      input,
      output: Sentiment,
      // @ts-expect-error 'neutral' is not one of the labels
      predict: async ({ text }) => ({ label: text ? 'positive' : 'neutral', score: 1, tags: [] }),
    })
    defineBlock({
      name: 'bad',
      description: 'x',
      input,
      output: Sentiment,
      // @ts-expect-error score must be a number
      predict: async () => ({ label: 'positive', score: '1', tags: [] }),
    })
    defineBlock({
      name: 'bad',
      description: 'x',
      input,
      output: Sentiment,
      // @ts-expect-error tags is missing
      predict: async () => ({ label: 'positive', score: 1 }),
    })
  })

  it('keeps the input type for predict', () => {
    defineBlock({
      name: 'input',
      description: 'x',
      input,
      output: Type.Object({ n: Type.Number() }),
      predict: async (body) => {
        expectTypeOf(body).toEqualTypeOf<Static<typeof input>>()
        return { n: body.text.length }
      },
    })
  })
})

describe('the route metadata core merges into fastify', () => {
  it('declares config.access as public, credential or admin, beside public and block', () => {
    expectTypeOf<import('fastify').FastifyContextConfig['access']>().toEqualTypeOf<'public' | 'credential' | 'admin' | undefined>()
    expectTypeOf<import('fastify').FastifyContextConfig['block']>().toEqualTypeOf<string | undefined>()
  })
})
