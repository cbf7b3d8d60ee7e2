import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import AjvCompiler from '@fastify/ajv-compiler'
import { BlockFailed, BlockLoading, BlockNotFound, ErrorReply } from '../errors.js'
import { described } from '../docs.js'
import { describeValidation } from '../http/error-handler.js'
import type { CoreMetrics } from '../metrics.js'
import type { AnyBlock } from './define-block.js'
import type { BlockRegistry, BlockState } from './registry.js'

export const BlockSummary = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    status: Type.Union([Type.Literal('loading'), Type.Literal('ready'), Type.Literal('failed')]),
    progress: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'While loading, where known.' })),
    reason: Type.Optional(Type.String({ description: 'Why loading failed.' })),
    retry_at: Type.Optional(Type.String({ format: 'date-time', description: 'After a failed load: when the next attempt starts.' })),
    input: Type.Unknown({ description: 'JSON schema of the predict body.' }),
    output: Type.Unknown({ description: 'JSON schema of the predict answer.' }),
  },
  { title: 'BlockSummary' },
)
export type BlockSummary = Static<typeof BlockSummary>

const BlockName = Type.Object({ name: Type.String({ maxLength: 200 }) })

/** Seconds a client should wait before retrying a block that is loading, or that failed to load for good. */
const RETRY_AFTER = { loading: 5, failed: 60 } as const

function describeState(state: BlockState = { status: 'loading' }): Pick<BlockSummary, 'status' | 'progress' | 'reason' | 'retry_at'> {
  if (state.status === 'loading') return state.progress === undefined ? { status: 'loading' } : { status: 'loading', progress: state.progress }
  if (state.status === 'ready') return { status: 'ready' }
  return { status: 'failed', reason: state.reason, ...(state.retryAt ? { retry_at: state.retryAt.toISOString() } : {}) }
}

/** Whole seconds until `at` (at least 1): a Retry-After that matches the real next attempt. */
export function secondsUntil(at: Date, now = Date.now()): number {
  return Math.max(1, Math.ceil((at.getTime() - now) / 1000))
}

/** Strict, as for bodies: no coercion and no defaults, so that what is checked is what the block returned. */
const outputValidator = AjvCompiler()({}, { customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false } })

interface ValidateFunction {
  (data: unknown): boolean
  errors?: Parameters<typeof describeValidation>[0] | null
}

/** A block's answer that fails its own output schema: a bug in the block, so a 500 whose details only go to the log. */
class BadOutput extends Error {
  override name = 'BlockOutputError'
}

export interface BlockRoutesOptions {
  registry: BlockRegistry
  /** Counts each predict's status and latency when metrics are on. */
  metrics?: CoreMetrics | undefined
}

/**
 * `/blocks`, and one static `GET /blocks/<name>` and `POST /blocks/<name>/predict` per block, so
 * that each predict route carries (and documents) that block's own schemas and `config.block`.
 */
export const blockRoutes: FastifyPluginAsyncTypebox<BlockRoutesOptions> = async (app, { registry, metrics }) => {
  const summarize = (block: AnyBlock): BlockSummary => ({
    name: block.name,
    description: block.description,
    ...describeState(registry.state(block.name)),
    input: block.input,
    output: block.output,
  })

  app.get(
    '/blocks',
    {
      // Any credential; an access plugin filters the list (`request.blockAccess`).
      config: { access: 'credential' },
      schema: {
        tags: ['blocks'],
        summary: 'List the blocks you can call',
        operationId: 'list_blocks',
        response: { 200: described(Type.Array(BlockSummary), 'The blocks this caller may see, each with its schemas and load status.') },
      },
    },
    async (request) => {
      const allowed = request.blockAccess
      return registry.blocks().filter((b) => allowed === null || allowed(b.name)).map(summarize)
    },
  )

  for (const block of registry.blocks()) {
    const checkOutput = outputValidator({ schema: block.output, method: 'POST', url: `/blocks/${block.name}/predict`, httpPart: 'body' }) as ValidateFunction
    app.get(
      `/blocks/${block.name}`,
      {
        config: { block: block.name },
        schema: {
          tags: ['blocks'],
          summary: `Describe ${block.name} and its load status`,
          operationId: `describe_${block.name.replace(/-/g, '_')}`,
          response: { 200: described(BlockSummary, `${block.name}: its schemas and its load status (loading, ready or failed).`) },
        },
      },
      async () => summarize(block),
    )

    app.post(
      `/blocks/${block.name}/predict`,
      {
        config: { block: block.name },
        schema: {
          tags: ['blocks'],
          summary: block.description,
          operationId: `predict_${block.name.replace(/-/g, '_')}`,
          body: block.input,
          response: {
            200: described(block.output, block.output.description ?? `What ${block.name} answers.`),
            400: ErrorReply,
            500: described(ErrorReply, 'The block failed, or answered outside its output schema (a bug in the block): the details are in the server log.'),
            503: described(ErrorReply, 'The block is still loading (MLB_BLOCK_LOADING) or its load failed (MLB_BLOCK_FAILED): retry after the seconds in Retry-After.'),
          },
        },
        ...(metrics ? { onResponse: metrics.predictHook(block.name) } : {}),
      },
      async (request, reply) => {
        assertReady(block.name, registry.state(block.name), reply)
        const output = await registry.predict(block.name, request.body)
        // The serializer would quietly turn a wrong answer into a wrong body (`null` into `{}`):
        // check it, and keep what is wrong for the log, naming the block and the field.
        if (!checkOutput(output)) {
          throw new BadOutput(`block '${block.name}' answered outside its output schema: ${describeValidation(checkOutput.errors ?? [], 'output')}`)
        }
        return output
      },
    )
  }

  // Static routes win over these, so they only answer names that are not blocks.
  const unknownBlock = { config: { access: 'credential' as const }, schema: { hide: true, params: BlockName } }
  app.get('/blocks/:name', unknownBlock, async (request) => {
    throw new BlockNotFound(request.params.name)
  })
  app.post('/blocks/:name/predict', unknownBlock, async (request) => {
    throw new BlockNotFound(request.params.name)
  })
}

function assertReady(name: string, state: BlockState | undefined, reply: FastifyReply): void {
  if (state?.status === 'loading' || state === undefined) {
    reply.header('retry-after', String(RETRY_AFTER.loading))
    const progress = state?.progress === undefined ? '' : ` (${Math.round(state.progress * 100)}%)`
    throw new BlockLoading(name, progress)
  }
  if (state.status === 'failed') {
    const retryAfter = state.retryAt ? secondsUntil(state.retryAt) : RETRY_AFTER.failed
    reply.header('retry-after', String(retryAfter))
    const reason = state.retryAt ? `${state.reason.replace(/\.+$/, '')}. Next attempt in ${retryAfter} s.` : state.reason
    throw new BlockFailed(name, reason)
  }
}
