import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { generateBertEncoder, type EncoderShape } from '../model-gen/bert-encoder.js'
import { DataType, tensor } from '../model-gen/onnx-writer.js'
import { generatedModels, SEED } from './helpers.js'

// BERT's structure at a size a test loads in a moment; the benchmarks use BERT-base.
const SMALL: EncoderShape = { layers: 2, hidden: 64, heads: 4, intermediate: 256, vocab: 2000, maxPositions: 128 }
const hypotheses = SEED.classes.map((c) => `This example is ${c}.`)

describe('the random-weight BERT encoder (benchmark model)', () => {
  const loaded = generatedModels('bert', (dir) => generateBertEncoder(dir, SMALL))
  const { models } = loaded

  it('writes fp32 weights and the same weights quantized to int8, which onnxruntime runs as quantized matmuls', () => {
    const fp32 = readFileSync(join(loaded.dir, 'onnx', 'model.onnx'))
    const q8 = readFileSync(join(loaded.dir, 'onnx', 'model_quantized.onnx'))
    expect(fp32.includes('MatMulInteger')).toBe(false)
    expect(q8.includes('MatMulInteger')).toBe(true)
    expect(q8.includes('DynamicQuantizeLinear')).toBe(true)
    // Dense weights shrink fourfold; the fp32 embeddings stay.
    expect(statSync(join(loaded.dir, 'onnx', 'model_quantized.onnx')).size).toBeLessThan(0.75 * fp32.length)
  })

  it('gives a pair the same logits alone as in a padded batch (the mask hides the padding)', async () => {
    const batch = await models.fp32.logits(SEED.text, hypotheses)
    expect(batch).toHaveLength(hypotheses.length)
    for (const [i, hypothesis] of hypotheses.entries()) {
      const [alone] = await models.fp32.logits(SEED.text, [hypothesis])
      alone!.forEach((logit, j) => expect(batch[i]![j]).toBeCloseTo(logit, 4))
    }
  })

  it('computes nearly the same logits from int8 weights as from fp32', async () => {
    const [fp32, q8] = [await models.fp32.logits(SEED.text, hypotheses), await models.q8.logits(SEED.text, hypotheses)]
    const differences = fp32.flatMap((row, i) => row.map((logit, j) => Math.abs(logit - q8[i]![j]!)))
    const scale = Math.max(...fp32.flat().map(Math.abs))
    expect(Math.max(...differences)).toBeGreaterThan(0) // a different graph ran
    expect(Math.max(...differences)).toBeLessThan(0.1 * scale)
  })
})

describe('the ONNX writer', () => {
  it('refuses an integer that does not fit the tensor type, instead of wrapping it', () => {
    expect(() => tensor('w', DataType.INT8, [2], [127, 128])).toThrow('tensor w: 128 is not an integer from -128 to 127')
    expect(() => tensor('w', DataType.UINT8, [1], [-1])).toThrow('tensor w: -1 is not an integer from 0 to 255')
    expect(() => tensor('w', DataType.INT8, [1], [0.5])).toThrow('0.5 is not an integer')
    expect([...tensor('w', DataType.INT8, [3], [-128, 0, 127]).raw]).toEqual([128, 0, 127])
  })
})
