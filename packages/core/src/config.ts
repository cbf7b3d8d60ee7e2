import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { AnyBlock } from './blocks/define-block.js'
import { ConfigError } from './errors.js'
import type { ServerConfig } from './settings.js'

/** One entry of `plugins`: a module imported only when the plugin is enabled. */
export interface PluginEntry {
  /** A package name (`@mlblocks/auth`) or a path relative to the config file (`./src/page.ts`). */
  module: string
  /**
   * Default `true`: listing a plugin turns it on. The environment variable in `env` and the
   * `plugins` option of `createServer()` take precedence, in that order from lowest.
   */
  enabled?: boolean
  /** Environment variable that switches the plugin; default from the package name, e.g. `AUTH_ENABLED`. */
  env?: string
  /** Passed to the plugin as its Fastify options. */
  options?: Record<string, unknown>
}

export interface MlblocksConfig {
  server?: ServerConfig
  blocks?: readonly AnyBlock[]
  plugins?: readonly PluginEntry[]
}

/** Identity function that types `mlblocks.config.ts`. */
export function defineConfig(config: MlblocksConfig): MlblocksConfig {
  return config
}

export const CONFIG_FILE_NAMES = ['mlblocks.config.ts', 'mlblocks.config.mts', 'mlblocks.config.js', 'mlblocks.config.mjs']

export interface LoadedConfig {
  config: MlblocksConfig
  /** Absolute path of the file, from which plugin modules are resolved. */
  path: string
}

/**
 * Loads `mlblocks.config.{ts,mts,js,mjs}` (or `file`) with no build step: TypeScript is compiled on
 * the fly by jiti. Any problem becomes one `ConfigError` line that names the file.
 */
export async function loadConfigFile(file?: string, cwd: string = process.cwd()): Promise<LoadedConfig> {
  const path = file ? resolve(cwd, file) : CONFIG_FILE_NAMES.map((n) => resolve(cwd, n)).find((p) => existsSync(p))
  if (!path) {
    throw new ConfigError(`No ${CONFIG_FILE_NAMES.slice(0, -1).join(', ')} or ${CONFIG_FILE_NAMES.at(-1)} in ${cwd}. Create one, or pass --config FILE.`)
  }
  if (!existsSync(path)) throw new ConfigError(`Config file ${path} does not exist. Check the --config path.`)
  let exported: unknown
  try {
    exported = await importModule(path)
  } catch (err) {
    throw new ConfigError(`Could not load ${path}: ${oneLine(err)}`)
  }
  if (typeof exported !== 'object' || exported === null || !('default' in exported) || exported.default === undefined) {
    throw new ConfigError(`${path} has no default export. Add \`export default defineConfig({ server, blocks, plugins })\`.`)
  }
  const config = exported.default
  checkConfig(config, path)
  return { config, path }
}

/** Imports a module by path: natively for JavaScript, through jiti for TypeScript. */
export async function importModule(path: string): Promise<unknown> {
  if (!/\.[cm]?ts$/.test(path)) return import(pathToFileURL(path).href)
  const { createJiti } = await import('jiti')
  return createJiti(pathToFileURL(path).href, { interopDefault: false, moduleCache: false }).import(path)
}

function checkConfig(config: unknown, path: string): asserts config is MlblocksConfig {
  const fail = (what: string): never => {
    throw new ConfigError(`${path}: ${what}. Export defineConfig({ server, blocks, plugins }) as the default.`)
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) fail('the default export is not an object')
  const { blocks, plugins } = config as Record<string, unknown>
  if (blocks !== undefined && !Array.isArray(blocks)) fail('`blocks` must be an array')
  if (plugins !== undefined && !Array.isArray(plugins)) fail('`plugins` must be an array')
  if (!Array.isArray(blocks) || blocks.length === 0) {
    throw new ConfigError(`${path} lists no blocks, so there would be nothing to serve. Add your blocks to \`blocks: [...]\` in its defineConfig().`)
  }
}

export function oneLine(err: unknown): string {
  const text = err instanceof Error ? `${['Error', 'FastifyError'].includes(err.name) ? '' : `${err.name}: `}${err.message}` : String(err)
  return text.split('\n').map((l) => l.trim()).filter(Boolean).join(' ')
}
