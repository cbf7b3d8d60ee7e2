import type { FastifyBaseLogger } from 'fastify'
import { ConfigError } from '../errors.js'
import type { AnyBlock } from './define-block.js'

export type BlockState =
  | { status: 'loading'; progress?: number; attempt?: number }
  | { status: 'ready' }
  /** `retryAt`: when the next attempt starts; absent when no retry is coming (retries off, or closing). */
  | { status: 'failed'; reason: string; retryAt?: Date; attempt?: number }

/**
 * How a failed `load()` is tried again: after `firstDelayMs`, then twice as long each time, never
 * more than `maxDelayMs` apart. `false`: a failed block stays failed until the server restarts.
 */
export type LoadRetry = false | { firstDelayMs?: number; maxDelayMs?: number }

export const DEFAULT_LOAD_RETRY = { firstDelayMs: 5_000, maxDelayMs: 300_000 } as const

interface Entry {
  readonly block: AnyBlock
  state: BlockState
  value: unknown
  /** Seconds the last successful load() took (for /metrics). */
  loadSeconds?: number
}

/** Holds every block with its load state; loads run in the background so that /healthz answers at once. */
export class BlockRegistry {
  readonly #entries = new Map<string, Entry>()
  readonly #retry: { firstDelayMs: number; maxDelayMs: number } | null
  readonly #timers = new Set<NodeJS.Timeout>()
  #settled: Promise<void> = Promise.resolve()

  constructor(blocks: readonly AnyBlock[], retry: LoadRetry = {}) {
    for (const block of blocks) this.#entries.set(block.name, { block, state: { status: 'loading' }, value: undefined })
    this.#retry = retry === false ? null : { ...DEFAULT_LOAD_RETRY, ...retry }
    for (const [key, value] of Object.entries(this.#retry ?? {})) {
      if (!Number.isFinite(value) || value < 1 || value > 2 ** 31 - 1) {
        throw new ConfigError(`loadRetry.${key} must be a number of milliseconds from 1 to ${2 ** 31 - 1}; got '${String(value)}'.`)
      }
    }
  }

  get names(): string[] {
    return [...this.#entries.keys()]
  }

  blocks(): AnyBlock[] {
    return [...this.#entries.values()].map((e) => e.block)
  }

  state(name: string): BlockState | undefined {
    return this.#entries.get(name)?.state
  }

  /** How long the block's last successful load took, in seconds; undefined before one (0 without `load()`). */
  loadSeconds(name: string): number | undefined {
    return this.#entries.get(name)?.loadSeconds
  }

  /** Starts every `load()` without waiting for them. `settled()` resolves when all have finished once. */
  startLoading(log: FastifyBaseLogger, signal: AbortSignal): void {
    signal.addEventListener('abort', () => {
      for (const timer of this.#timers) clearTimeout(timer)
      this.#timers.clear()
    })
    this.#settled = Promise.all([...this.#entries.values()].map((entry) => this.#load(entry, log, signal, 1))).then(
      () => undefined,
    )
  }

  /** Resolves once every block has become `ready` or `failed` at least once (a retry may still follow). */
  settled(): Promise<void> {
    return this.#settled
  }

  /** Runs a ready block's predict. Callers check `state()` first. */
  predict(name: string, input: unknown): unknown {
    const entry = this.#entries.get(name)
    if (entry?.state.status !== 'ready') throw new Error(`block ${name} is not ready`)
    return entry.block.predict(input, entry.value)
  }

  async #load(entry: Entry, parentLog: FastifyBaseLogger, signal: AbortSignal, attempt: number): Promise<void> {
    const { block } = entry
    if (signal.aborted && attempt > 1) return
    if (!block.load) {
      entry.loadSeconds = 0
      entry.state = { status: 'ready' }
      return
    }
    const log = parentLog.child({ block: block.name })
    const started = performance.now()
    entry.state = attempt > 1 ? { status: 'loading', attempt } : { status: 'loading' }
    log.info(attempt > 1 ? { attempt } : {}, attempt > 1 ? 'loading block again' : 'loading block')
    try {
      entry.value = await block.load({
        log,
        signal,
        progress(fraction) {
          if (entry.state.status !== 'loading' || !Number.isFinite(fraction)) return
          entry.state = { ...entry.state, progress: Math.min(1, Math.max(0, fraction)) }
        },
      })
      entry.loadSeconds = (performance.now() - started) / 1000
      entry.state = { status: 'ready' }
      log.info({ ms: Math.round(performance.now() - started), ...(attempt > 1 ? { attempt } : {}) }, 'block ready')
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err)
      if (signal.aborted || !this.#retry) {
        entry.state = { status: 'failed', reason }
        log.error({ err, attempt }, 'block failed to load')
        return
      }
      const delayMs = Math.min(this.#retry.firstDelayMs * 2 ** (attempt - 1), this.#retry.maxDelayMs)
      const retryAt = new Date(Date.now() + delayMs)
      entry.state = { status: 'failed', reason, retryAt, attempt }
      log.error({ err, attempt, delayMs, retryAt: retryAt.toISOString() }, `block failed to load; trying again in ${formatDelay(delayMs)}`)
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        void this.#load(entry, parentLog, signal, attempt + 1)
      }, delayMs)
      timer.unref()
      this.#timers.add(timer)
    }
  }
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`
}
