// Peak memory of one zero-shot variant, in a process of its own so that no other model or variant
// counts: `node dist/zero-shot-peak.js <model folder> <stock|batched> <fp32|q8> [class counts, e.g. 5]`.
// It runs each class count (2, 5, 10 and 20 unless given) twice, ascending, and sends a PeakMessage after each: the kernel's high-water mark of its
// resident set (VmHWM; getrusage's maxrss would include the parent's size at fork, which Linux keeps
// across exec).
import { readFileSync } from 'node:fs'
import { env, pipeline } from '@huggingface/transformers'
import { createJiti } from 'jiti'
import { CLASS_COUNTS, CLASSES, TEXT, type Dtype, type Kind, type PeakMessage, type ZeroShotPipeline } from './zero-shot-inputs.js'

// Typed here: the build compiles bench/src only, and the block's modules are loaded at run time,
// as the benchmark server loads them.
interface BatchedModel {
  logits(premise: string, hypotheses: readonly string[]): Promise<number[][]>
  labels: unknown
}
interface BlockModules {
  nliModel(tokenizer: unknown, model: unknown): BatchedModel
  scoreClasses(logits: number[][], labels: unknown, multipleTrue: boolean): number[]
}

const [modelDir, kind, dtype, counts] = process.argv.slice(2) as [string, Kind, Dtype, string | undefined]
const classCounts = counts ? counts.split(',').map(Number) : CLASS_COUNTS
env.allowRemoteModels = false
const stock = (await pipeline('zero-shot-classification', modelDir, { dtype })) as unknown as ZeroShotPipeline
const jiti = createJiti(import.meta.url)
const blockDir = new URL('../../apps/playground/src/blocks/zero-shot/', import.meta.url).pathname
const { nliModel, scoreClasses } = {
  ...(await jiti.import<Pick<BlockModules, 'nliModel'>>(`${blockDir}model.ts`)),
  ...(await jiti.import<Pick<BlockModules, 'scoreClasses'>>(`${blockDir}scoring.ts`)),
}
const batched = nliModel(stock.tokenizer, stock.model)

function peakBytes(): number {
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
  if (!kb) throw new Error('zero-shot-peak: no VmHWM in /proc/self/status (it needs Linux)')
  return Number(kb) * 1024
}

for (const n of classCounts) {
  const classes = CLASSES.slice(0, n)
  const hypotheses = classes.map((c) => `This example is ${c}.`)
  for (let i = 0; i < 2; i++) {
    if (kind === 'stock') await stock(TEXT, classes, { multi_label: true })
    else scoreClasses(await batched.logits(TEXT, hypotheses), batched.labels, true)
  }
  process.send?.({ classes: n, peakBytes: peakBytes() } satisfies PeakMessage)
}
