import autocannon from 'autocannon'
import { warmups } from './config.js'

export interface LoadOptions {
  url: string
  method?: 'GET' | 'POST'
  body?: unknown
  headers?: Record<string, string>
  connections: number
  /** How long to run; or, with `requests`, ignored. */
  seconds: number
  /**
   * Send this many requests and take throughput as completed ÷ elapsed, instead of running for
   * `seconds`: for slow requests that complete in bursts (a combined model call answers many at
   * once), where a fixed window would count a burst or miss it.
   */
  requests?: number
  /** Requests per second across all connections; unset: as fast as the server answers. */
  rate?: number
}

export interface LoadResult {
  /** Requests per second, mean over the run. */
  rps: number
  p50: number
  p99: number
  /** Requests that failed or answered other than 2xx: a benchmark of errors measures nothing. */
  bad: number
}

/**
 * Drives one server with autocannon from this process. Latencies are taken from each 2xx response
 * at full resolution: autocannon's own histogram rounds to whole milliseconds, too coarse for the
 * 1–3 ms a trivial request takes.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = []
  // autocannon ends a run of `requests` on its next one-second tick: time it to the last response.
  const started = performance.now()
  let finished = started
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method ?? 'GET',
        connections: options.connections,
        ...(options.requests === undefined ? { duration: options.seconds } : { amount: options.requests }),
        ...(options.rate === undefined ? {} : { overallRate: options.rate }),
        headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      },
      (err, done) => (err ? reject(err) : resolve(done)),
    )
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime)
      finished = performance.now()
    })
  })
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN
  const elapsed = (finished - started) / 1000
  return {
    rps: options.requests === undefined ? result.requests.average : latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    bad: result.errors + result.timeouts + result.non2xx,
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Runs each variant once per round, rotating which goes first, and keeps the median of each metric:
 * measured side by side, so a noisy neighbour slows every variant alike.
 */
export async function alternate<V extends string>(
  variants: Record<V, () => Promise<LoadResult>>,
  rounds: number,
  warmupRuns = warmups,
): Promise<Record<V, LoadResult>> {
  const names = Object.keys(variants) as V[]
  const runs = Object.fromEntries(names.map((n) => [n, [] as LoadResult[]])) as unknown as Record<V, LoadResult[]>
  for (let i = 0; i < warmupRuns; i++) for (const name of names) await variants[name]()
  for (let round = 0; round < rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]!)
    for (const name of order) runs[name].push(await variants[name]())
  }
  return Object.fromEntries(
    names.map((n) => {
      const r = runs[n]
      const bad = r.reduce((a, x) => a + x.bad, 0)
      return [n, { rps: median(r.map((x) => x.rps)), p50: median(r.map((x) => x.p50)), p99: median(r.map((x) => x.p99)), bad }]
    }),
  ) as Record<V, LoadResult>
}
