import autocannon from 'autocannon'

export interface LoadOptions {
  url: string
  method?: 'GET' | 'POST'
  body?: unknown
  headers?: Record<string, string>
  connections: number
  seconds: number
}

export interface LoadResult {
  /** Requests per second, mean over the run. */
  rps: number
  p50: number
  p99: number
  /** Requests that failed or answered other than 2xx: a benchmark of errors measures nothing. */
  bad: number
}

/** Drives one server with autocannon from this process. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    connections: options.connections,
    duration: options.seconds,
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
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
): Promise<Record<V, LoadResult>> {
  const names = Object.keys(variants) as V[]
  const runs = Object.fromEntries(names.map((n) => [n, [] as LoadResult[]])) as unknown as Record<V, LoadResult[]>
  // One discarded run each first: JIT, caches and connection pools warm up alike.
  for (const name of names) await variants[name]()
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
