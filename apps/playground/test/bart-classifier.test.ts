import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { generateBartClassifier, type BartShape } from '../model-gen/bart-large.js'
import { generatedModels, SEED } from './helpers.js'

// BART-large's structure at a size a test loads in a moment; the benchmarks use BART-large.
const SMALL: BartShape = { encoderLayers: 2, decoderLayers: 2, dModel: 64, heads: 4, ffn: 256, vocab: 3000, maxPositions: 128 }
const hypotheses = SEED.classes.map((c) => `This example is ${c}.`)

describe('the random-weight BART classifier (benchmark model)', () => {
  const loaded = generatedModels('bart', (dir) => generateBartClassifier(dir, SMALL))
  const { models } = loaded

  it('is typed as bart-large-mnli, with fp32 weights and the same weights in int8 laid out as the hub lays them out', () => {
    const config = JSON.parse(readFileSync(join(loaded.dir, 'config.json'), 'utf8'))
    expect(config).toMatchObject({ model_type: 'bart', architectures: ['BartForSequenceClassification'], vocab_size: 3000, d_model: 64, pad_token_id: 1 })
    const fp32 = readFileSync(join(loaded.dir, 'onnx', 'model.onnx'))
    const q8 = readFileSync(join(loaded.dir, 'onnx', 'model_quantized.onnx'))
    expect(fp32.includes('MatMulInteger')).toBe(false)
    expect(q8.includes('MatMulInteger')).toBe(true)
    expect(statSync(join(loaded.dir, 'onnx', 'model_quantized.onnx')).size).toBeLessThan(0.75 * fp32.length)
  })

  it('gives a pair the same logits alone as in a padded batch (padding masked, head on the last </s>)', async () => {
    const batch = await models.fp32.logits(SEED.text, hypotheses)
    expect(batch).toHaveLength(hypotheses.length)
    for (const [i, hypothesis] of hypotheses.entries()) {
      const [alone] = await models.fp32.logits(SEED.text, [hypothesis])
      alone!.forEach((logit, j) => expect(batch[i]![j]).toBeCloseTo(logit, 4))
    }
    // Different classes, different logits: the head reads each row's own </s>.
    expect(new Set(batch.map((row) => row[0]!.toFixed(5))).size).toBeGreaterThan(1)
  })

  it('computes nearly the same logits from int8 weights as from fp32', async () => {
    const [fp32, q8] = [await models.fp32.logits(SEED.text, hypotheses), await models.q8.logits(SEED.text, hypotheses)]
    const differences = fp32.flatMap((row, i) => row.map((logit, j) => Math.abs(logit - q8[i]![j]!)))
    const scale = Math.max(...fp32.flat().map(Math.abs))
    expect(Math.max(...differences)).toBeGreaterThan(0)
    expect(Math.max(...differences)).toBeLessThan(0.1 * scale)
  })
})
