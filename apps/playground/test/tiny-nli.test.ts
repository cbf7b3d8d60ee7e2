import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tinyModel } from './helpers.js'

describe('the tiny NLI model generator', () => {
  let a: Awaited<ReturnType<typeof tinyModel>>
  let b: Awaited<ReturnType<typeof tinyModel>>
  beforeAll(async () => {
    ;[a, b] = await Promise.all([tinyModel(), tinyModel()])
  })
  afterAll(() => {
    a?.remove()
    b?.remove()
  })

  it('writes the files transformers.js needs, byte for byte the same every time', () => {
    for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model_quantized.onnx']) {
      expect(readFileSync(join(a.dir, file)).equals(readFileSync(join(b.dir, file)))).toBe(true)
    }
    const config = JSON.parse(readFileSync(join(a.dir, 'config.json'), 'utf8'))
    expect(config.label2id).toEqual({ contradiction: 0, neutral: 1, entailment: 2 })
    expect(config.id2label).toEqual({ 0: 'contradiction', 1: 'neutral', 2: 'entailment' })
  })
})
