import type { FastifyBaseLogger } from 'fastify'
import type { AnyBlock } from './define-block.js'

export type BlockState =
  | { status: 'loading'; progress?: number }
  | { status: 'ready' }
  | { status: 'failed'; reason: string }

interface Entry {
  readonly block: AnyBlock
  state: BlockState
  value: unknown
}

/** Holds every block with its load state; loads run in the background so that /healthz answers at once. */
export class BlockRegistry {
  readonly #entries = new Map<string, Entry>()
  #settled: Promise<void> = Promise.resolve()

  constructor(blocks: readonly AnyBlock[]) {
    for (const block of blocks) this.#entries.set(block.name, { block, state: { status: 'loading' }, value: undefined })
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

  /** Starts every `load()` without waiting for them. `settled()` resolves when all have finished. */
  startLoading(log: FastifyBaseLogger, signal: AbortSignal): void {
    this.#settled = Promise.all([...this.#entries.values()].map((entry) => this.#load(entry, log, signal))).then(
      () => undefined,
    )
  }

  /** Resolves once every block is `ready` or `failed`. */
  settled(): Promise<void> {
    return this.#settled
  }

  /** Runs a ready block's predict. Callers check `state()` first. */
  predict(name: string, input: unknown): unknown {
    const entry = this.#entries.get(name)
    if (entry?.state.status !== 'ready') throw new Error(`block ${name} is not ready`)
    return entry.block.predict(input, entry.value)
  }

  async #load(entry: Entry, parentLog: FastifyBaseLogger, signal: AbortSignal): Promise<void> {
    const { block } = entry
    if (!block.load) {
      entry.state = { status: 'ready' }
      return
    }
    const log = parentLog.child({ block: block.name })
    const started = performance.now()
    log.info('loading block')
    try {
      entry.value = await block.load({
        log,
        signal,
        progress(fraction) {
          if (entry.state.status !== 'loading' || !Number.isFinite(fraction)) return
          entry.state = { status: 'loading', progress: Math.min(1, Math.max(0, fraction)) }
        },
      })
      entry.state = { status: 'ready' }
      log.info({ ms: Math.round(performance.now() - started) }, 'block ready')
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err)
      entry.state = { status: 'failed', reason }
      log.error({ err }, 'block failed to load')
    }
  }
}
