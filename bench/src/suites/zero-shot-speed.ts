import { fork } from 'node:child_process'
import { once } from 'node:events'
import { env, pipeline } from '@huggingface/transformers'
import { nliModel } from '../../../apps/playground/src/blocks/zero-shot/model.js'
import { scoreClasses } from '../../../apps/playground/src/blocks/zero-shot/scoring.js'
import { zeroShotSettings } from '../../../apps/playground/src/blocks/zero-shot/settings.js'
import { smoke } from '../config.js'
import { median } from '../load.js'
import { shapeName } from '../models.js'
import { ms, type Row } from '../report.js'
import { CLASS_COUNTS, CLASSES, TEXT, type Dtype, type Kind, type PeakMessage, type ZeroShotPipeline } from '../zero-shot-inputs.js'

type Variant = `${Kind} ${Dtype}`
type Tokenizer = Parameters<typeof nliModel>[0]
type Model = Parameters<typeof nliModel>[1]
const VARIANTS: readonly Variant[] = ['stock fp32', 'batched fp32', 'stock q8', 'batched q8']
const MB = 2 ** 20

/** Peak RSS of a process that loads the model and runs `variant` at each class count (zero-shot-peak.ts). */
export async function peakRss(modelDir: string, variant: Variant, counts: readonly number[] = CLASS_COUNTS): Promise<PeakMessage[]> {
  const script = new URL('../../dist/zero-shot-peak.js', import.meta.url).pathname
  const child = fork(script, [modelDir, ...variant.split(' '), counts.join(',')], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const peaks: PeakMessage[] = []
  child.on('message', (m: PeakMessage) => peaks.push(m))
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0 || peaks.length !== counts.length) throw new Error(`zero-shot-peak ${variant} exited with code ${String(code)}`)
  return peaks
}

/**
 * 4. Zero-shot speed, for 2, 5, 10 and 20 classes. Four variants run alternately: the stock
 * per-class pipeline and the block's batched single pass, each on fp32 and on q8 (int8) weights
 * of the same encoder. The headline compares what each does by default: transformers.js loads
 * fp32 on Node, the block q8 (`MLBLOCKS_ZSC_DTYPE`). Batching alone is reported for both.
 */
export async function zeroShotSpeed(modelDir: string): Promise<Row[]> {
  const shipped = zeroShotSettings({}).dtype
  if (shipped !== 'q8') throw new Error(`the zero-shot suite assumes the block defaults to q8, not ${shipped}`)
  env.allowRemoteModels = false
  const rows: Row[] = []
  const row = (measure: string, value: string, target = '', met?: boolean) =>
    rows.push({ benchmark: '4. zero-shot speed', measure, value, target, ...(met === undefined ? {} : { met }) })

  row('model', shapeName)
  // Both variants of a dtype share one pipeline: the same tokenizer and onnxruntime session.
  const models = {} as Record<Dtype, { stock: ZeroShotPipeline; batched: ReturnType<typeof nliModel> }>
  for (const dtype of ['fp32', 'q8'] as const) {
    const stock = (await pipeline('zero-shot-classification', modelDir, { dtype })) as unknown as ZeroShotPipeline
    models[dtype] = { stock, batched: nliModel(stock.tokenizer as Tokenizer, stock.model as Model) }
  }

  for (const n of CLASS_COUNTS) {
    const classes = CLASSES.slice(0, n)
    const hypotheses = classes.map((c) => `This example is ${c}.`)
    const run = (variant: Variant) => {
      const [kind, dtype] = variant.split(' ') as [Kind, Dtype]
      const { stock, batched } = models[dtype]
      return kind === 'stock'
        ? () => stock(TEXT, classes, { multi_label: true })
        : async () => scoreClasses(await batched.logits(TEXT, hypotheses), batched.labels, true)
    }
    const times = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>
    for (const v of VARIANTS) await run(v)() // warm-up
    const rounds = smoke ? 1 : 3
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < VARIANTS.length; i++) {
        const v = VARIANTS[(i + round) % VARIANTS.length]!
        const started = performance.now()
        await run(v)()
        times[v].push(performance.now() - started)
      }
    }
    const t = (v: Variant) => median(times[v])
    const speedup = t('stock fp32') / t('batched q8')
    row(
      `${n} classes: stock pipeline at its default (fp32) ÷ the block at its default (q8, one batched pass)`,
      `${speedup.toFixed(2)}× (${ms(t('stock fp32'))} vs ${ms(t('batched q8'))})`,
      n === 5 ? '≥ 2× at 5 classes' : '',
      n === 5 ? speedup >= 2 : undefined,
    )
    row(
      `${n} classes: batching alone, stock ÷ batched on the same weights, fp32 / q8`,
      `${(t('stock fp32') / t('batched fp32')).toFixed(2)}× / ${(t('stock q8') / t('batched q8')).toFixed(2)}× (q8 stock ${ms(t('stock q8'))}, fp32 batched ${ms(t('batched fp32'))})`,
    )
  }

  // Peak memory: each variant in a process of its own (all four at once: memory is not time).
  const peaks = await Promise.all(VARIANTS.map((v) => peakRss(modelDir, v)))
  const mb = (bytes: number) => `${Math.round(bytes / MB)} MB`
  row(
    'peak RSS of a process that loads the model and runs 2, 5, 10 and 20 classes',
    VARIANTS.map((v, i) => {
      const [first, last] = [peaks[i]![0]!, peaks[i]!.at(-1)!]
      return `${v === 'batched q8' ? 'block (batched q8)' : v} ${mb(last.peakBytes)}${last.peakBytes - first.peakBytes >= MB ? ` (${mb(first.peakBytes)} after 2 classes)` : ''}`
    }).join(' · '),
  )
  return rows
}
