import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorReply, NotReady } from './errors.js'
import { described } from './docs.js'
import type { BlockRegistry } from './blocks/registry.js'
import type { ReadinessCheck } from './fastify-types.js'

/** A readiness check that has not answered by then counts as failed: a probe must not hang. */
const CHECK_TIMEOUT_MS = 2000

async function runCheck(check: ReadinessCheck): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS)
  })
  try {
    await Promise.race([check(), timeout])
    return null
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  } finally {
    clearTimeout(timer)
  }
}

const Ready = Type.Object({
  status: Type.Literal('ready'),
  blocks: Type.Record(Type.String(), Type.Literal('ready')),
})

export interface HealthOptions {
  registry: BlockRegistry
  /** Dependencies plugins registered with `app.mlblocks.addReadinessCheck`. */
  checks: ReadonlyMap<string, ReadinessCheck>
}

/** `/healthz` answers while the process serves; `/readyz` once every block has loaded and every dependency answers. */
export const healthRoutes: FastifyPluginAsyncTypebox<HealthOptions> = async (app, { registry, checks }) => {
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Liveness: 200 while the process serves',
        operationId: 'healthz',
        response: { 200: Type.Object({ status: Type.Literal('ok') }, { description: 'The process serves.' }) },
      },
      logLevel: 'warn',
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Readiness: 200 once every block and dependency is usable',
        operationId: 'readyz',
        response: {
          200: described(Ready, 'Every block has loaded and every dependency answers.'),
          503: described(ErrorReply, 'Not ready: a block is loading or failed, or a dependency (such as the auth database) does not answer; error_message says which.'),
        },
      },
      logLevel: 'warn',
    },
    async () => {
      const problems: string[] = []
      for (const name of registry.names) {
        const state = registry.state(name)
        if (state?.status === 'failed') {
          const next = state.retryAt ? ` (next attempt at ${state.retryAt.toISOString()})` : ''
          problems.push(`block '${name}' failed to load: ${state.reason.replace(/\.+$/, '')}${next}`)
        }
        else if (state?.status !== 'ready') {
          const progress = state?.progress === undefined ? '' : ` (${Math.round(state.progress * 100)}%)`
          problems.push(`block '${name}' is still loading${progress}`)
        }
      }
      const failures = await Promise.all([...checks].map(async ([name, check]) => [name, await runCheck(check)] as const))
      for (const [name, reason] of failures) if (reason !== null) problems.push(`${name} is unavailable: ${reason}`)
      if (problems.length > 0) throw new NotReady(`Not ready: ${problems.join('; ')}.`)
      return { status: 'ready' as const, blocks: Object.fromEntries(registry.names.map((n) => [n, 'ready' as const])) }
    },
  )
}
