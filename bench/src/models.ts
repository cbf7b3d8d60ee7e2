import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BERT_BASE, generateBertEncoder, type EncoderShape } from '../../apps/playground/model-gen/bert-encoder.js'
import { smoke } from './config.js'

/** BERT-base shape for real runs; a small one for the CI smoke run. */
export const shape: EncoderShape = smoke ? { ...BERT_BASE, layers: 2, hidden: 128, heads: 2, intermediate: 512 } : BERT_BASE
export const shapeName = smoke ? 'small encoder (2 layers, hidden 128)' : 'BERT-base shape (12 layers, hidden 768, 12 heads, vocab 30k), random weights'

/** Generates the random-weight encoder once for the run; `remove()` deletes it. */
export async function benchModel(): Promise<{ dir: string; remove: () => void }> {
  const root = mkdtempSync(join(tmpdir(), 'mlb-bench-model-'))
  const dir = join(root, 'bert-nli')
  await generateBertEncoder(dir, shape)
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) }
}
