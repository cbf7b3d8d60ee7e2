import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { PasswordsBusy } from '../errors.js'

export type PasswordJob =
  | { op: 'hash'; password: string; options: object }
  | { op: 'verify'; password: string; hashed: string }

type Reply = { id: number; value: string | boolean } | { id: number; error: string }

// Each worker lowers its own thread to nice 19. On Linux the nice value belongs to the thread
// (setpriority(2), NOTES), so the event loop keeps its priority; elsewhere it would lower the whole
// process, so there the workers run at normal priority. Then, where chrt(1) is on the PATH, it puts
// the thread under SCHED_IDLE (sched(7)): the kernel preempts an idle-policy thread as soon as a
// normal one wakes, so a request that wakes the event loop does not wait, where a nice 19 thread may
// first run out its time slice. Node cannot set a policy itself; without chrt, nice 19 stays. A
// CommonJS string, so that it runs the same from the sources (tests) and from the build.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const { setPriority } = require('node:os')
const argon2 = require(workerData.argon2)
if (process.platform === 'linux') {
  try { setPriority(19) } catch {}
  try {
    const tid = require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()
    require('node:child_process').execFileSync('chrt', ['-i', '-p', '0', tid], { stdio: 'ignore', timeout: 5000 })
  } catch {}
}
parentPort.on('message', (job) => {
  try {
    const value = job.op === 'hash' ? argon2.hashSync(job.password, job.options) : argon2.verifySync(job.hashed, job.password)
    parentPort.postMessage({ id: job.id, value })
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) })
  }
})
`

interface Pending {
  job: PasswordJob
  resolve: (value: string | boolean) => void
  reject: (err: Error) => void
}

interface Slot {
  worker: Worker
  busy: Pending | null
}

/**
 * argon2 on `size` worker threads at the lowest CPU priority (SCHED_IDLE, else nice 19), one job each, the rest queued in order.
 * Started on first use; a worker holds the process open only while it has a job, and one that dies
 * fails its job and is replaced.
 */
export class PasswordWorkers {
  readonly #slots: Slot[] = []
  readonly #queue: Pending[] = []
  readonly #argon2 = createRequire(import.meta.url).resolve('@node-rs/argon2')
  #ids = 0

  /** Jobs run so far, by kind (what tests count: a password check that ran). */
  readonly counts = { hash: 0, verify: 0 }
  /** The deepest the queue has been. */
  maxQueued = 0

  /** `maxQueue`: jobs allowed to wait for a worker; past it `run` fails at once with PasswordsBusy. */
  constructor(
    private readonly size: number,
    private readonly maxQueue = Number.POSITIVE_INFINITY,
  ) {}

  run(job: PasswordJob): Promise<string | boolean> {
    if (this.#queue.length >= this.maxQueue) return Promise.reject(new PasswordsBusy())
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject })
      this.maxQueued = Math.max(this.maxQueued, this.#queue.length)
      this.#dispatch()
    })
  }

  #dispatch(): void {
    for (;;) {
      if (this.#queue.length === 0) return
      let slot = this.#slots.find((s) => s.busy === null)
      if (!slot && this.#slots.length < this.size) slot = this.#start()
      if (!slot) return
      const pending = this.#queue.shift()!
      this.counts[pending.job.op] += 1
      slot.busy = pending
      slot.worker.ref()
      slot.worker.postMessage({ ...pending.job, id: ++this.#ids })
    }
  }

  #start(): Slot {
    // No inherited execArgv: `--input-type=module` would make the script ESM, and loader hooks are not needed.
    const worker = new Worker(WORKER, { eval: true, execArgv: [], workerData: { argon2: this.#argon2 } })
    const slot: Slot = { worker, busy: null }
    worker.on('message', (reply: Reply) => {
      const pending = slot.busy
      slot.busy = null
      worker.unref()
      if ('error' in reply) pending?.reject(new Error(reply.error))
      else pending?.resolve(reply.value)
      this.#dispatch()
    })
    const fail = (err: Error) => {
      this.#slots.splice(this.#slots.indexOf(slot), 1)
      slot.busy?.reject(err)
      slot.busy = null
      this.#dispatch()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => {
      if (this.#slots.includes(slot)) fail(new Error(`password worker exited with code ${code}`))
    })
    worker.unref()
    this.#slots.push(slot)
    return slot
  }
}
