import { AutoTokenizer, env } from '@huggingface/transformers'
import { paddingShare, planPasses } from '../../../apps/playground/src/blocks/zero-shot/combine.js'
import { smoke } from '../config.js'
import { MIX_TEXTS, SEED_CLASSES } from '../zero-shot-inputs.js'
import { alternateRuns, load, medians } from '../load.js'
import { ms, ratio, type Row } from '../report.js'
import { startServer } from '../servers.js'

const CLASSES = SEED_CLASSES
const TEXTS = MIX_TEXTS
export const BODIES = TEXTS.map((text) => ({ text, classes: CLASSES, multipleTrue: true }))

/** Share of padding in one combined call of `clients` requests of the mix: all in one pass, and as planned. */
async function padding(modelDir: string, clients: number, maxPairs: number): Promise<{ onePass: number; planned: number }> {
  env.allowRemoteModels = false
  const tokenizer = await AutoTokenizer.from_pretrained(modelDir)
  const hypotheses = CLASSES.map((c) => `This example is ${c}.`)
  const lengths = TEXTS.map((text) => {
    const { input_ids } = tokenizer(hypotheses.map(() => text), { text_pair: hypotheses, truncation: true, return_tensor: false }) as unknown as { input_ids: number[][] }
    return input_ids.map((ids) => ids.length)
  })
  const jobs = Array.from({ length: clients }, (_, i) => lengths[i % lengths.length]!)
  const rows = (group: number[][]) => group.flat()
  // As combining did before: arrival order, cut at maxPairs.
  const before: number[][][] = [[]]
  for (const job of jobs) {
    if (rows(before.at(-1)!).length + job.length > maxPairs) before.push([])
    before.at(-1)!.push(job)
  }
  const passes = planPasses(jobs.map((j) => ({ pairs: j.length, tokens: Math.max(...j) })), { maxPairs })
  return { onePass: paddingShare(before.map(rows)), planned: paddingShare(passes.map((p) => p.flatMap((i) => jobs[i]!))) }
}

/**
 * 5. Under concurrency: zero-shot throughput and p99 with 1, 4 and 16 clients sending a mix of text
 * lengths, combining concurrent requests into planned passes or making one call per request.
 */
export async function concurrency(modelDir: string, label = '', { clientCounts = [1, 4, 16], rounds = 3 }: { clientCounts?: number[]; rounds?: number } = {}): Promise<Row[]> {
  const root = new URL('../../../apps/playground/', import.meta.url).pathname
  const module = new URL('../blocks/zero-shot.ts', import.meta.url).pathname
  const server = (combine: string) =>
    startServer({ root, blocks: { module, env: { MLBLOCKS_ZSC_MODEL: modelDir, MLBLOCKS_ZSC_COMBINE: combine } } }, { cpus: 'all' })
  const [combined, separate] = await Promise.all([server('1'), server('0')])
  const rows: Row[] = []
  const benchmark = `5. under concurrency${label}`
  try {
    const share = await padding(modelDir, 16, 64)
    rows.push({
      benchmark,
      measure: '16 clients: share of a combined call that is padding, in arrival order (before) / planned by length (now)',
      value: `${(share.onePass * 100).toFixed(0)}% / ${(share.planned * 100).toFixed(0)}%`,
      target: '',
    })
    for (const clients of clientCounts) {
      // A fixed number of requests, not a time window: with 16 clients a combined call answers 16 at
      // once after seconds, which a window of a few seconds would catch or miss whole.
      const requests = smoke ? clients : Math.max(8, clients * 2)
      const run = (url: string) => () =>
        load({ url: `${url}/blocks/zero-shot-classification/predict`, method: 'POST', bodies: BODIES, connections: clients, seconds: 0, requests, timeout: 600 })
      const r = medians(await alternateRuns({ combined: run(combined.url), separate: run(separate.url) }, smoke ? 1 : rounds, { warmupRuns: 1 }))
      const ok = r.combined.bad + r.separate.bad === 0
      rows.push({
        benchmark,
        measure: `${clients} client${clients > 1 ? 's' : ''}: throughput, combined ÷ one call per request`,
        value: `${ratio(r.combined.rps, r.separate.rps)} (${r.combined.rps.toFixed(1)} vs ${r.separate.rps.toFixed(1)} req/s)`,
        target: clients === 16 ? '≥ 1.5× at 16 clients' : '',
        ...(clients === 16 ? { met: ok && r.combined.rps >= 1.5 * r.separate.rps } : {}),
      })
      if (clients === 16) {
        rows.push({
          benchmark,
          measure: '16 clients: p99 latency, combined against one call per request',
          value: `${ms(r.combined.p99)} vs ${ms(r.separate.p99)}`,
          target: 'no worse than without combining',
          met: ok && r.combined.p99 <= r.separate.p99,
        })
      }
    }
    return rows
  } finally {
    await Promise.all([combined.stop(), separate.stop()])
  }
}
