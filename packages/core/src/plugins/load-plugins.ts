import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { FastifyPluginAsync, FastifyPluginCallback } from 'fastify'
import { importModule, oneLine, type PluginEntry } from '../config.js'
import { ConfigError } from '../errors.js'
import { envBoolean, type Env } from '../settings.js'

/** How `createServer()` callers switch plugins, keyed by module specifier. Highest precedence. */
export type PluginOverrides = Record<string, boolean | { enabled?: boolean; options?: Record<string, unknown> }>

/** Plugins that core knows by name, so that their switch works even when the config does not list them. */
const WELL_KNOWN: readonly PluginEntry[] = [{ module: '@mlblocks/auth' }]

export interface EnabledPlugin {
  entry: PluginEntry
  options: Record<string, unknown>
  /** What turned it on, for error messages: `AUTH_ENABLED=true`, `the config file`, … */
  enabledBy: string
  /** The environment variable that switches it (the off switch named in messages). */
  envName: string
}

/** `@mlblocks/auth` → `AUTH_ENABLED`, `./src/web-page.ts` → `WEB_PAGE_ENABLED`. */
export function pluginEnvName(entry: PluginEntry): string {
  if (entry.env) return entry.env
  const base = (entry.module.split('/').pop() ?? entry.module).replace(/\.[cm]?[jt]s$/, '')
  return `${base.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_ENABLED`
}

/**
 * Decides which plugins run. Precedence, highest first: `createServer()` option, the plugin's
 * environment variable, the config file's `enabled` (default true for a listed plugin).
 */
export function enabledPlugins(entries: readonly PluginEntry[] = [], env: Env, overrides: PluginOverrides = {}): EnabledPlugin[] {
  const listed = new Set(entries.map((e) => e.module))
  const unlisted = [...WELL_KNOWN.map((e) => e.module), ...Object.keys(overrides)].filter((m) => !listed.has(m))
  const all: PluginEntry[] = [...entries, ...[...new Set(unlisted)].map((module) => ({ module, enabled: false }))]
  const result: EnabledPlugin[] = []
  for (const entry of all) {
    if (typeof entry?.module !== 'string' || entry.module === '') {
      throw new ConfigError('Every entry of `plugins` needs a `module` (a package name or a path).')
    }
    const envName = pluginEnvName(entry)
    const override = overrides[entry.module]
    const fromCode = typeof override === 'boolean' ? override : override?.enabled
    const fromEnv = envBoolean(env, envName)
    const enabled = fromCode ?? fromEnv ?? entry.enabled ?? true
    if (!enabled) continue
    const enabledBy =
      fromCode !== undefined ? 'the createServer() option' : fromEnv !== undefined ? `${envName}=${env[envName]}` : 'the config file'
    const options = { ...entry.options, ...(typeof override === 'object' ? override.options : undefined) }
    result.push({ entry, options, enabledBy, envName })
  }
  return result
}

type AnyPlugin = FastifyPluginAsync<Record<string, unknown>> | FastifyPluginCallback<Record<string, unknown>>

/**
 * Resolves the module from `root` (the app's folder, not core's) and imports it. A missing package
 * stops start-up with one line naming the install command and the off switch.
 */
export async function importPlugin(plugin: EnabledPlugin, root: string): Promise<AnyPlugin> {
  const { entry, enabledBy, envName } = plugin
  const offSwitch = `or set ${envName}=false to turn it off`
  let path: string
  try {
    path = createRequire(join(root, 'noop.js')).resolve(entry.module)
  } catch {
    const install = entry.module.startsWith('.') ? 'check the path in mlblocks.config' : `run \`pnpm add ${entry.module}\``
    throw new ConfigError(`${entry.module} is enabled (by ${enabledBy}) but cannot be found from ${root}: ${install}, ${offSwitch}.`)
  }
  let mod: unknown
  try {
    mod = await importModule(path)
  } catch (err) {
    throw new ConfigError(`${entry.module} failed to load (${oneLine(err)}); fix it, ${offSwitch}.`)
  }
  const fn = pluginFunction(mod)
  if (typeof fn !== 'function') {
    throw new ConfigError(`${entry.module} does not export a Fastify plugin as its default export; fix it, ${offSwitch}.`)
  }
  return fn as AnyPlugin
}

/**
 * The plugin function of a module: its default export, or — for a CommonJS module compiled from
 * TypeScript or Babel (`exports.default = plugin`, as fastify-metrics does) — the `default` of that.
 */
function pluginFunction(mod: unknown): unknown {
  const first = (mod as { default?: unknown } | undefined)?.default ?? mod
  if (typeof first === 'function') return first
  const nested = (first as { default?: unknown } | undefined)?.default
  return typeof nested === 'function' ? nested : first
}
