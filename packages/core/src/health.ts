import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorReply, NotReady } from './errors.js'
import type { BlockRegistry } from './blocks/registry.js'

const Ready = Type.Object({
  status: Type.Literal('ready'),
  blocks: Type.Record(Type.String(), Type.Literal('ready')),
})

/** `/healthz` answers while the process serves; `/readyz` once every block has loaded. */
export const healthRoutes: FastifyPluginAsyncTypebox<{ registry: BlockRegistry }> = async (app, { registry }) => {
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: { tags: ['health'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
      logLevel: 'warn',
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: { tags: ['health'], response: { 200: Ready, 503: ErrorReply } },
      logLevel: 'warn',
    },
    async () => {
      const problems: string[] = []
      for (const name of registry.names) {
        const state = registry.state(name)
        if (state?.status === 'failed') problems.push(`block '${name}' failed to load: ${state.reason}`)
        else if (state?.status !== 'ready') {
          const progress = state?.progress === undefined ? '' : ` (${Math.round(state.progress * 100)}%)`
          problems.push(`block '${name}' is still loading${progress}`)
        }
      }
      if (problems.length > 0) throw new NotReady(`Not ready: ${problems.join('; ')}.`)
      return { status: 'ready' as const, blocks: Object.fromEntries(registry.names.map((n) => [n, 'ready' as const])) }
    },
  )
}
