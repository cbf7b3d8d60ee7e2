import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { BlockRegistry } from './blocks/registry.js'

const STATES = ['loading', 'ready', 'failed'] as const

/**
 * Node's process metrics (prom-client's defaults) describe the process, not a server, and their
 * collectors (a GC observer, an event-loop delay monitor) cannot be stopped: made once per
 * process, on the first server with metrics on, and merged into each server's answer.
 */
let processRegistry: Registry | undefined
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

/** Seconds: from a trivial predict (well under a millisecond) to a large model's batch (a minute). */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/**
 * The server's Prometheus registry (one per server, never prom-client's global one, so that two
 * servers in one process count apart) with core's metrics: per block, predict requests by status
 * and their latency, the load state and how long the load took; and, merged in, Node's process metrics.
 * Plugins add theirs to `registry` (auth: logins, 401/403/429 answers, its credential cache).
 */
export class CoreMetrics {
  readonly registry = new Registry()
  readonly #process = processMetrics()
  readonly #requests: Counter<'block' | 'status'>
  readonly #latency: Histogram<'block'>
  /** Per block, per status code: the label children, so that a request costs no label lookup. */
  readonly #children = new Map<string, { counted: Map<number, Counter.Internal>; latency: Histogram.Internal<'block'> }>()

  constructor(blocks: BlockRegistry) {
    this.#requests = new Counter({
      name: 'mlblocks_block_requests_total',
      help: 'Predict requests answered, by block and HTTP status (401/403/429 from access control included).',
      labelNames: ['block', 'status'],
      registers: [this.registry],
    })
    this.#latency = new Histogram({
      name: 'mlblocks_block_request_duration_seconds',
      help: 'Time from receiving a predict request to answering it, by block.',
      labelNames: ['block'],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    })
    new Gauge({
      name: 'mlblocks_block_state',
      help: 'Load state of each block: 1 for its current state (loading, ready or failed), 0 for the others.',
      labelNames: ['block', 'state'],
      registers: [this.registry],
      collect() {
        for (const name of blocks.names) {
          const status = blocks.state(name)?.status ?? 'loading'
          for (const state of STATES) this.set({ block: name, state }, status === state ? 1 : 0)
        }
      },
    })
    new Gauge({
      name: 'mlblocks_block_load_seconds',
      help: "How long each block's last successful load() took, in seconds (absent until it has loaded).",
      labelNames: ['block'],
      registers: [this.registry],
      collect() {
        this.reset()
        for (const name of blocks.names) {
          const seconds = blocks.loadSeconds(name)
          if (seconds !== undefined) this.set({ block: name }, seconds)
        }
      },
    })
  }

  /** This server's metrics and the process's, in Prometheus text format. */
  text(): Promise<string> {
    return Registry.merge([this.#process, this.registry]).metrics()
  }

  /** A route-level onResponse hook for one block's predict route: callback-style, no promise. */
  predictHook(block: string) {
    const children = { counted: new Map<number, Counter.Internal>(), latency: this.#latency.labels(block) }
    this.#children.set(block, children)
    const requests = this.#requests
    return function mlblocksMetrics(_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
      const status = reply.statusCode
      let counter = children.counted.get(status)
      if (counter === undefined) {
        counter = requests.labels(block, String(status))
        children.counted.set(status, counter)
      }
      counter.inc()
      children.latency.observe(reply.elapsedTime / 1000)
      done()
    }
  }
}

/**
 * `GET /metrics` in Prometheus text format. Classified admin (`config.access`): with an
 * access-control plugin on, it needs an admin's credential (or a service account's API key).
 */
export async function metricsRoute(app: FastifyInstance, metrics: CoreMetrics): Promise<void> {
  app.get(
    '/metrics',
    {
      config: { access: 'admin' },
      logLevel: 'warn',
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics of this instance',
        operationId: 'metrics',
        produces: ['text/plain'],
        response: { 200: Type.String({ description: 'Prometheus text exposition format 0.0.4' }) },
      },
    },
    async (_request, reply) => {
      const text = await metrics.text()
      reply.type(metrics.registry.contentType)
      return text
    },
  )
}
