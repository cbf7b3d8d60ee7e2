// A benchmark server in its own process, so that what one variant loads cannot leak into another.
// The parent passes a ServerSpec in BENCH_SPEC and talks to it over IPC.
import { createJiti } from 'jiti'
import { loadedScripts } from './loaded-scripts.js'
import { cpuByRole, type CpuByRole } from './threads.js'
import { createServer, defineBlock, Type, type AnyBlock, type PluginEntry, type PluginOverrides } from '@mlblocks/core'

export interface ServerSpec {
  /** Folder plugins resolve from: without node_modules there, no plugin is installed. */
  root: string
  plugins?: PluginEntry[]
  overrides?: PluginOverrides
  /** `trivial` (echo) or a module path exporting `blocks(): AnyBlock[]`. */
  blocks: 'trivial' | { module: string; env?: Record<string, string> }
}

export type ToServer = { type: 'modules' } | { type: 'requestPath' } | { type: 'cpu' } | { type: 'stop' }
export type FromServer =
  | { type: 'listening'; url: string }
  | { type: 'modules'; modules: string[] }
  | { type: 'requestPath'; requestPath: string }
  | { type: 'cpu'; cpu: CpuByRole | null }
  | { type: 'error'; message: string }

export const trivial = defineBlock({
  name: 'echo',
  description: 'Returns its text.',
  input: Type.Object({ text: Type.String({ maxLength: 1000 }) }, { additionalProperties: false }),
  output: Type.Object({ text: Type.String() }),
  predict: async ({ text }) => ({ text }),
})

/**
 * What a request runs through: every route with the hooks Fastify will call for it, and the tree of
 * registered plugins (avvio's load times taken out). Two servers whose request paths are equal run
 * the same code for the same request.
 */
function requestPath(app: Awaited<ReturnType<typeof createServer>>): string {
  const routes = app.printRoutes({ includeHooks: true, commonPrefix: false })
  const plugins = app.printPlugins().replace(/ \d+ ms$/gm, '')
  return `${routes}\n${plugins}`
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_SPEC ?? '{}') as ServerSpec
  let blocks: AnyBlock[] = [trivial]
  if (spec.blocks !== 'trivial') {
    // A TypeScript block module goes through jiti, as core loads a TypeScript config.
    const { module } = spec.blocks
    const mod = (/\.[cm]?ts$/.test(module) ? await createJiti(import.meta.url).import(module) : await import(module)) as {
      blocks: (env: Record<string, string>) => AnyBlock[]
    }
    blocks = mod.blocks(spec.blocks.env ?? {})
  }
  const app = await createServer(
    { blocks, plugins: spec.plugins ?? [] },
    { root: spec.root, env: process.env, plugins: spec.overrides ?? {}, server: { logLevel: 'silent', port: 0 } },
  )
  await app.mlblocks.blocks.settled()
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const send = (message: FromServer) => process.send?.(message)
  process.on('message', async (message: ToServer) => {
    if (message.type === 'modules') {
      send({ type: 'modules', modules: await loadedScripts() })
    } else if (message.type === 'requestPath') {
      send({ type: 'requestPath', requestPath: requestPath(app) })
    } else if (message.type === 'cpu') {
      send({ type: 'cpu', cpu: cpuByRole() })
    } else if (message.type === 'stop') {
      await app.close()
      process.exit(0)
    }
  })
  send({ type: 'listening', url })
}

main().catch((err: unknown) => {
  console.error(err)
  process.send?.({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies FromServer)
  process.exit(1)
})
