import { env, pipeline } from '@huggingface/transformers'
import { nliModel } from '../../../apps/playground/src/blocks/zero-shot/model.js'
import { scoreClasses } from '../../../apps/playground/src/blocks/zero-shot/scoring.js'
import { smoke } from '../config.js'
import { median, percentiles } from '../load.js'
import { ms, type Row } from '../report.js'
import { peakRss } from './zero-shot-speed.js'
import { SEED_CLASSES, TEXT, type Dtype, type Kind, type ZeroShotPipeline } from '../zero-shot-inputs.js'

type Variant = `${Kind} ${Dtype}`
type Tokenizer = Parameters<typeof nliModel>[0]
type Model = Parameters<typeof nliModel>[1]
const VARIANTS: readonly Variant[] = ['stock fp32', 'batched fp32', 'stock q8', 'batched q8']
const MB = 2 ** 20

/**
 * 6. The seed's example (5 classes, `multipleTrue: true`) on a model too large to run at every class
 * count (the BART-large-MNLI-shaped one): the block's latency p50/p99 over many runs, the stock
 * pipeline's, the speed-up of the block at its default (q8, one batched pass) over the stock
 * pipeline at its default (fp32, one pass per class), batching alone, and each one's peak RSS.
 */
export async function zeroShotSeed(modelDir: string, modelName: string, benchmark: string): Promise<Row[]> {
  env.allowRemoteModels = false
  const rows: Row[] = []
  const row = (measure: string, value: string, target = '', met?: boolean) => rows.push({ benchmark, measure, value, target, ...(met === undefined ? {} : { met }) })
  row('model', modelName)
  const models = {} as Record<Dtype, { stock: ZeroShotPipeline; batched: ReturnType<typeof nliModel> }>
  for (const dtype of ['fp32', 'q8'] as const) {
    const stock = (await pipeline('zero-shot-classification', modelDir, { dtype })) as unknown as ZeroShotPipeline
    models[dtype] = { stock, batched: nliModel(stock.tokenizer as Tokenizer, stock.model as Model) }
  }
  const hypotheses = SEED_CLASSES.map((c) => `This example is ${c}.`)
  const run = (variant: Variant) => {
    const [kind, dtype] = variant.split(' ') as [Kind, Dtype]
    const { stock, batched } = models[dtype]
    return kind === 'stock'
      ? () => stock(TEXT, SEED_CLASSES, { multi_label: true })
      : async () => scoreClasses(await batched.logits(TEXT, hypotheses), batched.labels, true)
  }
  const times = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>
  for (const v of VARIANTS) await run(v)() // warm-up
  // The block (batched q8) runs every round, for its p99; the others every fourth.
  const rounds = smoke ? 2 : 24
  for (let round = 0; round < rounds; round++) {
    const order = round % 4 === 0 ? VARIANTS.map((_, i) => VARIANTS[(i + round / 4) % VARIANTS.length]!) : (['batched q8'] as const)
    for (const v of order) {
      const started = performance.now()
      await run(v)()
      times[v].push(performance.now() - started)
    }
  }
  const t = (v: Variant) => median(times[v])
  const block = percentiles([...times['batched q8']])
  row(`seed example (5 classes, multipleTrue): the block's latency (q8, one batched pass), p50 / p99 of ${times['batched q8'].length} runs`, `${ms(block.p50)} / ${ms(block.p99)}`)
  const speedup = t('stock fp32') / t('batched q8')
  row(
    'seed example: stock pipeline at its default (fp32, a pass per class) ÷ the block at its default (q8, one batched pass)',
    `${speedup.toFixed(2)}× (${ms(t('stock fp32'))} vs ${ms(t('batched q8'))}, medians)`,
    '≥ 2×',
    speedup >= 2,
  )
  row(
    'seed example: batching alone, stock ÷ batched on the same weights, fp32 / q8',
    `${(t('stock fp32') / t('batched fp32')).toFixed(2)}× / ${(t('stock q8') / t('batched q8')).toFixed(2)}× (q8 stock ${ms(t('stock q8'))}, fp32 batched ${ms(t('batched fp32'))})`,
  )
  // Peak memory: each variant in a process of its own, one after the other (the fp32 ones hold 1.6 GB of weights each).
  const peaks: string[] = []
  for (const v of ['stock fp32', 'batched q8'] as const) {
    const [peak] = await peakRss(modelDir, v, [5])
    peaks.push(`${v === 'batched q8' ? 'block (batched q8)' : v} ${Math.round(peak!.peakBytes / MB)} MB`)
  }
  row('peak RSS of a process that loads the model and runs the seed example', peaks.join(' · '))
  return rows
}
