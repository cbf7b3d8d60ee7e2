import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { BART_LARGE, generateBartClassifier, type BartShape } from '../../apps/playground/model-gen/bart-large.js'
import { BERT_BASE, generateBertEncoder, type EncoderShape } from '../../apps/playground/model-gen/bert-encoder.js'
import { smoke } from './config.js'
import { CLASSES, MIX_TEXTS, TEXT } from './zero-shot-inputs.js'

/** BERT-base shape for real runs; a small one for the CI smoke run. */
export const shape: EncoderShape = smoke ? { ...BERT_BASE, layers: 2, hidden: 128, heads: 2, intermediate: 512 } : BERT_BASE
export const shapeName = smoke ? 'small encoder (2 layers, hidden 128)' : 'BERT-base shape (12 layers, hidden 768, 12 heads, vocab 30k), random weights'

/** Generates the random-weight encoder once for the run; `remove()` deletes it. */
export async function benchModel(): Promise<{ dir: string; remove: () => void }> {
  const root = mkdtempSync(join(tmpdir(), 'mlb-bench-model-'))
  const dir = join(root, 'bert-nli')
  await generateBertEncoder(dir, shape, benchWords())
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) }
}

/** BART-large-MNLI's architecture and sizes for real runs; a small BART for the smoke run. */
export const bartShape: BartShape = smoke ? { ...BART_LARGE, encoderLayers: 1, decoderLayers: 1, dModel: 128, heads: 2, ffn: 512 } : BART_LARGE
export const bartShapeName = smoke
  ? 'small BART (1 + 1 layers, d_model 128)'
  : 'BART-large-MNLI shape (12 + 12 layers, d_model 1024, 16 heads, vocab 50,265), random weights'

/**
 * `BENCH_MODELS_DIR` (default `~/.cache/mlblocks/bench-models`): where the BART-large-shaped model
 * is kept between runs, outside the repository. It is 1.6 GB (fp32) + 0.5 GB (q8) and takes a
 * minute or two to write, so it is generated once; delete the folder to make it again.
 */
export const benchModelsDir = resolve(process.env.BENCH_MODELS_DIR?.trim() || join(homedir(), '.cache', 'mlblocks', 'bench-models'))
/** Bump when the generator's output changes, so that a stale cached model is not measured. */
const BART_VERSION = 1

/** The words of the benchmarks' texts and classes, so that the BPE tokenizer makes whole words of them, as BART's does. */
function benchWords(): string[] {
  const text = [TEXT, ...MIX_TEXTS, ...CLASSES].join(' ')
  return [...new Set(text.toLowerCase().match(/[a-z]+/g) ?? [])]
}

/** The BART-large-shaped model: from the cache, or generated into it (smoke runs: a small one in a temporary folder). */
export async function bartModel(): Promise<{ dir: string; remove: () => void }> {
  if (smoke) {
    const root = mkdtempSync(join(tmpdir(), 'mlb-bench-bart-'))
    const dir = join(root, 'bart-nli')
    await generateBartClassifier(dir, bartShape, benchWords())
    return { dir, remove: () => rmSync(root, { recursive: true, force: true }) }
  }
  const dir = join(benchModelsDir, `bart-large-mnli-random-v${BART_VERSION}`)
  if (!existsSync(join(dir, 'onnx', 'model_quantized.onnx'))) {
    process.stderr.write(` (generating the BART-large-shaped model into ${dir}, once)`)
    mkdirSync(benchModelsDir, { recursive: true })
    const partial = mkdtempSync(join(benchModelsDir, '.partial-'))
    try {
      await generateBartClassifier(partial, bartShape, benchWords())
      rmSync(dir, { recursive: true, force: true })
      renameSync(partial, dir) // whole or not at all: a run stopped midway leaves only a .partial- folder
    } catch (err) {
      rmSync(partial, { recursive: true, force: true })
      throw err
    }
  }
  return { dir, remove: () => undefined }
}
