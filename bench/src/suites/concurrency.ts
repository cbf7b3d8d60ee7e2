import { smoke } from '../config.js'
import { alternateRuns, load, medians } from '../load.js'
import { ratio, type Row } from '../report.js'
import { startServer } from '../servers.js'

const BODY = {
  text: 'I have a problem with my iphone that needs to be resolved asap!!',
  classes: ['urgent', 'not urgent', 'phone', 'tablet', 'computer'],
  multipleTrue: true,
}

/** 5. Under concurrency: zero-shot throughput with 1, 4 and 16 clients, combining concurrent requests into one model call or not. */
export async function concurrency(modelDir: string): Promise<Row[]> {
  const root = new URL('../../../apps/playground/', import.meta.url).pathname
  const module = new URL('../blocks/zero-shot.ts', import.meta.url).pathname
  const server = (combine: string) =>
    startServer({ root, blocks: { module, env: { MLBLOCKS_ZSC_MODEL: modelDir, MLBLOCKS_ZSC_COMBINE: combine } } }, { cpus: 'all' })
  const [combined, separate] = await Promise.all([server('1'), server('0')])
  const rows: Row[] = []
  try {
    for (const clients of [1, 4, 16]) {
      // A fixed number of requests, not a time window: with 16 clients a combined call answers 16 at
      // once after seconds, which a window of a few seconds would catch or miss whole.
      const requests = smoke ? clients : Math.max(8, clients * 2)
      const run = (url: string) => () =>
        load({ url: `${url}/blocks/zero-shot-classification/predict`, method: 'POST', body: BODY, connections: clients, seconds: 0, requests })
      const r = medians(await alternateRuns({ combined: run(combined.url), separate: run(separate.url) }, smoke ? 1 : 3, { warmupRuns: 1 }))
      rows.push({
        benchmark: '5. under concurrency',
        measure: `${clients} client${clients > 1 ? 's' : ''}: throughput, combined ÷ one call per request`,
        value: `${ratio(r.combined.rps, r.separate.rps)} (${r.combined.rps.toFixed(1)} vs ${r.separate.rps.toFixed(1)} req/s)`,
        target: clients === 16 ? 'combining wins at 16 clients (> 1)' : '',
        ...(clients === 16 ? { met: r.combined.bad + r.separate.bad === 0 && r.combined.rps > r.separate.rps } : {}),
      })
    }
    return rows
  } finally {
    await Promise.all([combined.stop(), separate.stop()])
  }
}
