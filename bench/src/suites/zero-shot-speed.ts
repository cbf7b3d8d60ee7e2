import { env, pipeline } from '@huggingface/transformers'
import { nliModel } from '../../../apps/playground/src/blocks/zero-shot/model.js'
import { scoreClasses } from '../../../apps/playground/src/blocks/zero-shot/scoring.js'
import { smoke } from '../config.js'
import { median } from '../load.js'
import { shapeName } from '../models.js'
import { ms, type Row } from '../report.js'

const TEXT = 'I have a problem with my iphone that needs to be resolved asap!! The screen is cracked and the battery is dead.'
const CLASSES = ['urgent', 'not urgent', 'phone', 'tablet', 'computer', 'billing', 'refund', 'delivery', 'account', 'password',
  'weather', 'sport', 'music', 'travel', 'food', 'health', 'work', 'school', 'game', 'car']

interface ZeroShotPipeline {
  (text: string, labels: string[], options: { multi_label: boolean }): Promise<unknown>
  model: Parameters<typeof nliModel>[1]
  tokenizer: Parameters<typeof nliModel>[0]
}

/** Samples the resident set size while `work` runs, to report its peak. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2)
  try {
    const result = await work()
    peak = Math.max(peak, process.memoryUsage().rss)
    return { result, peak }
  } finally {
    clearInterval(timer)
  }
}

/**
 * 4. Zero-shot speed: the batched single pass against the stock per-class pipeline, same model and
 * session, for 2, 5, 10 and 20 classes.
 */
export async function zeroShotSpeed(modelDir: string): Promise<Row[]> {
  env.allowRemoteModels = false
  const stock = (await pipeline('zero-shot-classification', modelDir, { dtype: 'fp32' })) as unknown as ZeroShotPipeline
  const batched = nliModel(stock.tokenizer, stock.model)
  const rows: Row[] = []
  for (const n of [2, 5, 10, 20]) {
    const classes = CLASSES.slice(0, n)
    const hypotheses = classes.map((c) => `This example is ${c}.`)
    const times = { stock: [] as number[], batched: [] as number[] }
    const peaks = { stock: 0, batched: 0 }
    const variants = {
      stock: () => stock(TEXT, classes, { multi_label: true }),
      batched: async () => scoreClasses(await batched.logits(TEXT, hypotheses), batched.labels, true),
    }
    await variants.stock() // warm-up
    await variants.batched()
    const runs = smoke ? 1 : 4
    for (let i = 0; i < runs; i++) {
      const order: Array<keyof typeof variants> = i % 2 ? ['batched', 'stock'] : ['stock', 'batched']
      for (const name of order) {
        const started = performance.now()
        const { peak } = await withPeakRss(variants[name])
        times[name].push(performance.now() - started)
        peaks[name] = Math.max(peaks[name], peak)
      }
    }
    const speedup = median(times.stock) / median(times.batched)
    rows.push({
      benchmark: '4. zero-shot speed',
      measure: `${n} classes: stock pipeline ÷ batched single pass (time per request)`,
      value: `${speedup.toFixed(2)}× (${ms(median(times.stock))} vs ${ms(median(times.batched))})`,
      target: n === 5 ? '≥ 2× at 5 classes' : '',
      ...(n === 5 ? { met: speedup >= 2 } : {}),
    })
    rows.push({
      benchmark: '4. zero-shot speed',
      measure: `${n} classes: peak RSS, stock / batched`,
      value: `${Math.round(peaks.stock / 2 ** 20)} MB / ${Math.round(peaks.batched / 2 ** 20)} MB`,
      target: '',
    })
  }
  rows.push({ benchmark: '4. zero-shot speed', measure: 'model', value: shapeName, target: '' })
  return rows
}
