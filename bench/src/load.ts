import { Agent, request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { warmups } from './config.js'
import { cpuBetween, readCpu } from './process-cpu.js'

export interface LoadOptions {
  url: string
  method?: 'GET' | 'POST'
  body?: unknown
  /** Bodies sent in turn across all connections (instead of `body`): a mix of requests. */
  bodies?: readonly unknown[]
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
  /** Seconds before a request counts as failed (autocannon's default: 10). */
  timeout?: number
}

export interface LoadResult {
  /** Requests per second, mean over the run. */
  rps: number
  p50: number
  p99: number
  /** Requests that failed or answered other than 2xx: a benchmark of errors measures nothing. */
  bad: number
  /** 2xx responses. */
  completed: number
  /** The server's CPU time per 2xx response, µs, all its threads (`cpuLoad`); absent when not measured. */
  cpuUs?: number
  /** The CPU figure came from utime + stime (10 ms resolution): a thread ended during the run. */
  cpuFromStat?: boolean
}

/** The request's JSON body, if any, and its headers (with the content type a body needs). */
function jsonRequest(options: Pick<LoadOptions, 'body' | 'headers'>): { body: string | undefined; headers: Record<string, string> } {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body)
  return { body, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers } }
}

/**
 * Drives one server with autocannon from this process. Latencies are taken from each 2xx response
 * at full resolution: autocannon's own histogram rounds to whole milliseconds, too coarse for the
 * 1–3 ms a trivial request takes.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const { body, headers } = jsonRequest(options.bodies ? { ...options, body: options.bodies[0] } : options)
  const mix = options.bodies?.map((b) => JSON.stringify(b))
  let sent = 0
  const latencies: number[] = []
  // Throughput is 2xx responses ÷ the time to the last one: autocannon ends a run of `requests` on
  // its next one-second tick, and its own per-tick average needs whole ticks.
  const started = performance.now()
  let finished = started
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method ?? 'GET',
        connections: options.connections,
        // autocannon stops on a sample tick (every second by default): ticks of the run's length.
        ...(options.requests === undefined ? { duration: options.seconds, sampleInt: Math.min(1000, options.seconds * 1000) } : { amount: options.requests }),
        headers,
        ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
        ...(body === undefined ? {} : { body }),
        // A mix: each request, whichever connection sends it, takes the next body in turn.
        ...(mix ? { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: mix[sent++ % mix.length] }) }] } : {}),
      },
      (err, done) => (err ? reject(err) : resolve(done)),
    )
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime)
      finished = performance.now()
    })
  })
  const elapsed = (finished - started) / 1000
  return {
    rps: latencies.length / elapsed,
    completed: latencies.length,
    ...percentiles(latencies),
    bad: result.errors + result.timeouts + result.non2xx,
  }
}

/** After a run, before the CPU reading: the server finishes with the run's connections. */
const SETTLE_MS = 20

/**
 * `load` of a fixed number of requests, with the server's CPU time per 2xx response: every thread
 * of process `pid`, read from /proc before and after (`readCpu`). The server must serve nothing
 * else meanwhile.
 */
export async function cpuLoad(pid: number, options: Omit<LoadOptions, 'seconds' | 'requests'> & { requests: number }): Promise<LoadResult> {
  const before = readCpu(pid)
  const result = await load({ ...options, seconds: 0 })
  await sleep(SETTLE_MS)
  const after = readCpu(pid)
  if (!before || !after || result.completed === 0) return result
  const used = cpuBetween(before, after)
  return { ...result, cpuUs: used.ns / 1000 / result.completed, ...(used.source === 'stat' ? { cpuFromStat: true } : {}) }
}

/**
 * An open-loop load at a steady `rate`: one request every 1/rate s on keep-alive connections,
 * whether or not earlier ones have answered, so that latency shows what a request meets on
 * arrival. (autocannon's rate limit sends each second's quota back to back at the start of the
 * second, a burst, then idles.) Latency runs from issuing a request (waiting for a free connection
 * counts) to the end of its response; timers fire on whole milliseconds, so at 1000/s requests
 * leave one or two at a time.
 */
export async function paced(options: Omit<LoadOptions, 'requests'> & { rate: number }): Promise<LoadResult> {
  const url = new URL(options.url)
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections })
  const { body, headers } = jsonRequest(options)
  const latencies: number[] = []
  let bad = 0
  const send = () =>
    new Promise<void>((resolve) => {
      const sent = performance.now()
      const req = request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: options.method ?? 'GET', headers }, (res) => {
        res.resume()
        res.on('end', () => {
          const status = res.statusCode ?? 0
          if (status >= 200 && status < 300) latencies.push(performance.now() - sent)
          else bad++
          resolve()
        })
      })
      req.on('error', () => {
        bad++
        resolve()
      })
      req.end(body)
    })
  // Open every connection first: their TCP handshakes are not what this measures.
  await Promise.all(Array.from({ length: options.connections }, send))
  latencies.length = 0
  bad = 0
  const total = Math.round(options.rate * options.seconds)
  const started = performance.now()
  const inFlight: Promise<void>[] = []
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / options.rate - performance.now()
    if (wait >= 1) await sleep(wait)
    inFlight.push(send())
  }
  await Promise.all(inFlight)
  const elapsed = (performance.now() - started) / 1000
  agent.destroy()
  return { rps: latencies.length / elapsed, completed: latencies.length, ...percentiles(latencies), bad }
}

/** p50 and p99 of latencies in ms (sorts them in place); NaN when there are none. */
export function percentiles(latencies: number[]): Pick<LoadResult, 'p50' | 'p99'> {
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN
  return { p50: at(0.5), p99: at(0.99) }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Every run of each variant. */
export type Runs<V extends string> = Record<V, LoadResult[]>

/**
 * Runs each variant once per round, rotating which goes first (from `firstRound`, so that rounds
 * split over several calls keep rotating), after `warmupRuns` discarded runs of each: measured side
 * by side, so a noisy neighbour slows every variant alike.
 */
export async function alternateRuns<V extends string>(
  variants: Record<V, () => Promise<LoadResult>>,
  rounds: number,
  { warmupRuns = warmups, firstRound = 0 }: { warmupRuns?: number; firstRound?: number } = {},
): Promise<Runs<V>> {
  const names = Object.keys(variants) as V[]
  const runs = Object.fromEntries(names.map((n) => [n, [] as LoadResult[]])) as unknown as Runs<V>
  for (let i = 0; i < warmupRuns; i++) for (const name of names) await variants[name]()
  for (let round = firstRound; round < firstRound + rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]!)
    for (const name of order) runs[name].push(await variants[name]())
  }
  return runs
}

/**
 * `variant`'s throughput ÷ `base`'s: the median over every round (of one or more sets of servers) of
 * the ratio within the round. Runs of one round are a moment apart, so a spell of noise that slows
 * both cancels out, where a ratio of medians would compare runs far apart.
 */
export function pairedRatio<V extends string>(sets: readonly Runs<V>[], variant: V, base: V): number {
  return median(sets.flatMap((runs) => runs[variant].map((run, round) => run.rps / runs[base][round]!.rps)))
}

/** The median of each metric over all the runs given (from one or more sets of servers); errors are summed. */
export function medians<V extends string>(...sets: Runs<V>[]): Record<V, LoadResult> {
  const names = Object.keys(sets[0] ?? {}) as V[]
  return Object.fromEntries(
    names.map((n) => {
      const r = sets.flatMap((runs) => runs[n])
      const bad = r.reduce((a, x) => a + x.bad, 0)
      const cpu = r.flatMap((x) => (x.cpuUs === undefined ? [] : [x.cpuUs]))
      const result: LoadResult = { rps: median(r.map((x) => x.rps)), completed: median(r.map((x) => x.completed)), p50: median(r.map((x) => x.p50)), p99: median(r.map((x) => x.p99)), bad }
      if (cpu.length) result.cpuUs = median(cpu)
      return [n, result]
    }),
  ) as Record<V, LoadResult>
}
