/** A text paired with each of its hypotheses: one request's worth of model input. */
export interface PairJob {
  premise: string
  hypotheses: readonly string[]
}

type RunPairs = (premises: readonly string[], hypotheses: readonly string[]) => Promise<number[][]>
/** The padded length a job's pairs need: tokens in its longest (premise, hypothesis) pair. */
export type MeasureJob = (job: PairJob) => number

interface Waiting extends PairJob {
  tokens: number
  resolve(logits: number[][]): void
  reject(reason: unknown): void
}

/** How combining plans its passes (see `planPasses`). */
export interface PassPlanning {
  /** Most pairs in one pass (a single larger request still runs whole). */
  maxPairs: number
  /** What a pass costs beyond its tokens, in tokens (the call's fixed cost). */
  passOverhead?: number
  /** Sequence length at which attention costs as much per token as the rest of the model. */
  attentionLength?: number
}

/**
 * A pass over `pairs` rows padded to `length` tokens costs about pairs · length (the dense layers),
 * plus pairs · length² / attentionLength (attention), plus a fixed cost per call.
 */
function passCost(pairs: number, length: number, { passOverhead = 64, attentionLength = 4096 }: PassPlanning): number {
  return pairs * length * (1 + length / attentionLength) + passOverhead
}

/**
 * Splits jobs (each `pairs` rows whose longest is `tokens`) into passes that waste the least on
 * padding: jobs sorted by length, cut where one more pass costs less than padding the short jobs to
 * the long ones (dynamic programming over the sorted order), never more than `maxPairs` pairs in a
 * pass unless one job alone has more. A job is never split. Returns the jobs' indices per pass.
 */
export function planPasses(jobs: readonly { pairs: number; tokens: number }[], planning: PassPlanning): number[][] {
  const order = jobs.map((_, i) => i).sort((a, b) => jobs[a]!.tokens - jobs[b]!.tokens || a - b)
  const n = order.length
  const best = new Array<number>(n + 1).fill(Number.POSITIVE_INFINITY)
  const cut = new Array<number>(n + 1).fill(0)
  best[0] = 0
  for (let end = 1; end <= n; end++) {
    let pairs = 0
    for (let start = end - 1; start >= 0; start--) {
      pairs += jobs[order[start]!]!.pairs
      if (pairs > planning.maxPairs && start < end - 1) break
      const cost = best[start]! + passCost(pairs, jobs[order[end - 1]!]!.tokens, planning)
      if (cost < best[end]!) {
        best[end] = cost
        cut[end] = start
      }
    }
  }
  const passes: number[][] = []
  for (let end = n; end > 0; end = cut[end]!) passes.unshift(order.slice(cut[end]!, end))
  return passes
}

/** Of the tokens a set of passes feeds the model, the share that is padding (0..1). */
export function paddingShare(passes: readonly (readonly number[])[]): number {
  let real = 0
  let padded = 0
  for (const lengths of passes) {
    const longest = Math.max(0, ...lengths)
    for (const l of lengths) real += l
    padded += longest * lengths.length
  }
  return padded === 0 ? 0 : 1 - real / padded
}

/**
 * Combines concurrent requests into few model calls. A request that finds the model idle runs at
 * once, adding no latency; requests that arrive while it is busy wait. Then the waiting requests
 * (up to twice `maxPairs` pairs, oldest first) are planned into passes of similar length
 * (`planPasses`), and the pass holding the oldest request runs; the rest wait for the next plan,
 * with whatever arrived meanwhile. So a long text does not pad a pass of short ones, and no request
 * waits behind more than one plan of newer ones. Each gets back exactly its own rows, and the pairs
 * of one request always share one pass.
 */
export function combineRequests(run: RunPairs, planning: PassPlanning, measure: MeasureJob = (job) => job.premise.length): (job: PairJob) => Promise<number[][]> {
  const queue: Waiting[] = []
  let busy = false

  function nextPass(): Waiting[] {
    const window: Waiting[] = []
    let pairs = 0
    for (const job of queue) {
      if (window.length > 0 && pairs + job.hypotheses.length > 2 * planning.maxPairs) break
      window.push(job)
      pairs += job.hypotheses.length
    }
    const passes = planPasses(window.map((j) => ({ pairs: j.hypotheses.length, tokens: j.tokens })), planning)
    const chosen = new Set(passes.find((p) => p.includes(0))!.map((i) => window[i]!))
    const batch = queue.filter((job) => chosen.has(job))
    queue.splice(0, queue.length, ...queue.filter((job) => !chosen.has(job)))
    return batch
  }

  async function drain(): Promise<void> {
    busy = true
    while (queue.length > 0) {
      const batch = nextPass()
      const premises = batch.flatMap((job) => job.hypotheses.map(() => job.premise))
      const hypotheses = batch.flatMap((job) => job.hypotheses)
      try {
        const rows = await run(premises, hypotheses)
        let offset = 0
        for (const job of batch) {
          job.resolve(rows.slice(offset, offset + job.hypotheses.length))
          offset += job.hypotheses.length
        }
      } catch (err) {
        for (const job of batch) job.reject(err)
      }
    }
    busy = false
  }

  return (job) =>
    new Promise<number[][]>((resolve, reject) => {
      let tokens: number
      try {
        tokens = measure(job)
      } catch (err) {
        reject(err)
        return
      }
      queue.push({ ...job, tokens, resolve, reject })
      if (!busy) void drain()
    })
}
