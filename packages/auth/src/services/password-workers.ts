import { Piscina } from 'piscina'
import { PasswordsBusy } from '../errors.js'

export type PasswordJob =
  | { op: 'hash'; password: string; options: object }
  | { op: 'verify'; password: string; hashed: string }

/** The task file: outside src/ and dist/ alike (two levels up from either), shipped in the package. */
const TASK = new URL('../../workers/password-worker.cjs', import.meta.url)

/**
 * argon2 on at most `size` piscina worker threads at the lowest CPU priority (nice 19 through
 * piscina's niceIncrement, then SCHED_IDLE where chrt(1) is found: see workers/password-worker.cjs),
 * one job each, the rest queued in order. Threads start on first use and stay (an idle one does not
 * hold the process open); one that dies fails its job and is replaced.
 */
export class PasswordWorkers {
  #pool: Piscina | undefined

  /** Jobs accepted so far, by kind (what tests count: a password check that ran). */
  readonly counts = { hash: 0, verify: 0 }
  /** The deepest the queue has been. */
  maxQueued = 0

  /** `maxQueue`: jobs allowed to wait for a worker; past it `run` fails at once with PasswordsBusy. */
  constructor(
    private readonly size: number,
    private readonly maxQueue = Number.POSITIVE_INFINITY,
  ) {}

  run(job: PasswordJob): Promise<string | boolean> {
    // Piscina's own maxQueue rejects with a plain Error; the bound is checked here to answer PasswordsBusy.
    const pool = (this.#pool ??= this.#start())
    if (pool.queueSize >= this.maxQueue) return Promise.reject(new PasswordsBusy())
    this.counts[job.op] += 1
    const running = pool.run(job) as Promise<string | boolean>
    this.maxQueued = Math.max(this.maxQueued, pool.queueSize)
    return running
  }

  #start(): Piscina {
    return new Piscina({
      filename: TASK.href,
      minThreads: 0,
      maxThreads: this.size,
      // Every job waits in order for a free thread: none runs beside another on one thread.
      concurrentTasksPerWorker: 1,
      // Threads are kept (an hour idle at most): starting one costs more than a password check.
      idleTimeout: 3_600_000,
      // On Linux the nice value is the thread's; elsewhere it would lower the whole process.
      niceIncrement: process.platform === 'linux' ? 19 : 0,
      // No inherited execArgv: `--input-type=module` would make the task file ESM, and loader hooks are not needed.
      execArgv: [],
    })
  }
}
