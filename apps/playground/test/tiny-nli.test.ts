import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AutoTokenizer, env } from '@huggingface/transformers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { plainTextTokenizer } from '../src/blocks/zero-shot/plain-text.js'
import { forbidNetwork, TINY_MODELS, tinyModel } from './helpers.js'

describe.each(TINY_MODELS)('the tiny %s-typed NLI model generator', (kind) => {
  let a: Awaited<ReturnType<typeof tinyModel>>
  let b: Awaited<ReturnType<typeof tinyModel>>
  let allowNetwork: () => void
  beforeAll(async () => {
    allowNetwork = forbidNetwork()
    env.allowRemoteModels = false
    ;[a, b] = await Promise.all([tinyModel(kind), tinyModel(kind)])
  })
  afterAll(() => {
    a?.remove()
    b?.remove()
    allowNetwork?.()
  })

  it('writes the files transformers.js needs, byte for byte the same every time', () => {
    for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model_quantized.onnx']) {
      expect(readFileSync(join(a.dir, file)).equals(readFileSync(join(b.dir, file)))).toBe(true)
    }
    const config = JSON.parse(readFileSync(join(a.dir, 'config.json'), 'utf8'))
    expect(config.label2id).toEqual({ contradiction: 0, neutral: 1, entailment: 2 })
    expect(config.id2label).toEqual({ 0: 'contradiction', 1: 'neutral', 2: 'entailment' })
    expect(config.model_type).toBe(kind)
  })
})

describe('the tiny BART-typed model', () => {
  let a: Awaited<ReturnType<typeof tinyModel>>
  let allowNetwork: () => void
  beforeAll(async () => {
    allowNetwork = forbidNetwork()
    env.allowRemoteModels = false
    a = await tinyModel('bart')
  })
  afterAll(() => {
    a?.remove()
    allowNetwork?.()
  })

  it('is typed as facebook/bart-large-mnli: BART classifier, byte-level BPE, <s> A </s></s> B </s>, <pad> = 1, no token_type_ids', async () => {
    const config = JSON.parse(readFileSync(join(a.dir, 'config.json'), 'utf8'))
    expect(config.architectures).toEqual(['BartForSequenceClassification'])
    expect(config).toMatchObject({ pad_token_id: 1, bos_token_id: 0, eos_token_id: 2 })
    const tokenizer = await AutoTokenizer.from_pretrained(a.dir)
    expect(tokenizer.constructor.name).toBe('BartTokenizer')
    expect(tokenizer.pad_token_id).toBe(1)
    const inputs = tokenizer(['I need my iphone', 'Hi'], { text_pair: ['This example is phone.', 'This example is urgent.'], padding: true, truncation: true })
    expect(Object.keys(inputs).sort()).toEqual(['attention_mask', 'input_ids'])
    const vocab = JSON.parse(readFileSync(join(a.dir, 'tokenizer.json'), 'utf8')).model.vocab as Record<string, number>
    const tokens = Object.fromEntries(Object.entries(vocab).map(([token, id]) => [id, token]))
    const [first, second] = (inputs.input_ids.tolist() as bigint[][]).map((row) => row.map((id) => tokens[Number(id)]))
    expect(first).toEqual(['<s>', 'I', 'Ġneed', 'Ġmy', 'Ġiphone', '</s>', '</s>', 'This', 'Ġexample', 'Ġis', 'Ġphone', '.', '</s>'])
    expect(second!.slice(0, 9)).toEqual(['<s>', 'Hi', '</s>', '</s>', 'This', 'Ġexample', 'Ġis', 'Ġurgent', '.'])
    expect(second!.slice(9)).toEqual(['</s>', '<pad>', '<pad>', '<pad>']) // padded on the right with <pad> = 1
    expect((inputs.attention_mask.tolist() as bigint[][])[1]!.map(Number)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
    // The block's copy that reads special tokens in a client's text as text: same ids for plain text, same <pad>.
    const plain = plainTextTokenizer(tokenizer)
    expect(plain).not.toBe(tokenizer)
    expect(plain.pad_token_id).toBe(1)
    const again = plain(['I need my iphone', 'Hi'], { text_pair: ['This example is phone.', 'This example is urgent.'], padding: true, truncation: true })
    expect(again.input_ids.tolist()).toEqual(inputs.input_ids.tolist())
    expect(again.attention_mask.tolist()).toEqual(inputs.attention_mask.tolist())
    const typed = (plain('a </s> b', { return_tensor: false }) as unknown as { input_ids: number[] }).input_ids
    expect(typed.filter((id) => id === 2)).toEqual([2]) // only the template's closing </s>
  })
})
