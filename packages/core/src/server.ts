import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { AnyBlock } from './blocks/define-block.js'
import { BlockRegistry, type LoadRetry } from './blocks/registry.js'
import { blockRoutes } from './blocks/routes.js'
import type { MlblocksConfig } from './config.js'
import { registerDocs } from './docs.js'
import { ConfigError } from './errors.js'
import type { ReadinessCheck, SecurityScheme } from './fastify-types.js'
import { healthRoutes } from './health.js'
import { clientErrorHandler, installErrorHandling } from './http/error-handler.js'
import { schemaController } from './http/validation.js'
import { logDestination, loggerOptions } from './logger.js'
import { CoreMetrics, metricsRoute } from './metrics.js'
import { enabledPlugins, importPlugin, type PluginOverrides } from './plugins/load-plugins.js'
import { resolveServerSettings, type Env, type ServerConfig } from './settings.js'

export interface CreateServerOptions {
  /** Highest-precedence server settings (the CLI passes its flags here). */
  server?: ServerConfig
  /** Switch plugins in code, over the environment and the config file: `{ '@mlblocks/auth': true }`. */
  plugins?: PluginOverrides
  /** Environment to read settings from, for core and plugins; default `process.env`. */
  env?: Env
  /** Folder that plugin modules resolve from; default the current directory. The CLI passes the config file's folder. */
  root?: string
  /** Where log lines go (as JSON, whatever `LOG_FORMAT` says); default stdout. */
  logStream?: NodeJS.WritableStream
  /**
   * How a block whose `load()` failed is tried again: first after `firstDelayMs` (default 5 s), then
   * twice as long each time up to `maxDelayMs` (default 5 min). `false`: never.
   */
  loadRetry?: LoadRetry
}

const BLOCK_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/
const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

/**
 * Builds the MLBlocks server: enabled plugins first, then health, docs and block routes. Resolves once
 * the server is ready to `listen()`; block loads start then, in the background.
 */
export async function createServer(config: MlblocksConfig = {}, options: CreateServerOptions = {}): Promise<FastifyInstance> {
  const env = options.env ?? process.env
  const settings = resolveServerSettings(config.server, env, options.server)
  const blocks = checkBlocks(config.blocks ?? [])
  const plugins = enabledPlugins(config.plugins, env, options.plugins)
  const root = options.root ?? process.cwd()
  const pluginFns = await Promise.all(plugins.map((p) => importPlugin(p, root)))
  const logStream = options.logStream ?? (await logDestination(settings.logFormat))

  const app = Fastify({
    logger: loggerOptions(settings.logLevel, logStream),
    bodyLimit: settings.bodyLimit,
    // TRUST_PROXY: request.ip (every per-address limit, the audit log, the request log) comes from
    // X-Forwarded-For only when the peer is one of these proxies; unset, never. A hop count is a
    // function here: this Fastify fails closed on a bare number (it cannot check the peer), and the
    // README says a hop count is for a server that only its proxies can reach.
    trustProxy: typeof settings.trustProxy === 'number' ? trustHops(settings.trustProxy) : settings.trustProxy,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id']
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    },
    pluginTimeout: 120_000,
    forceCloseConnections: 'idle',
    // While draining, requests that reach an open keep-alive connection are still served (with
    // Connection: close) rather than answered with Fastify's own 503 body.
    return503OnClosing: false,
    schemaController,
    clientErrorHandler, // Node's parser errors (431, 400) in the one error shape
  }).withTypeProvider<TypeBoxTypeProvider>()

  const registry = new BlockRegistry(blocks, options.loadRetry)
  const metrics = settings.metrics ? new CoreMetrics(registry) : undefined
  const securitySchemes: Record<string, SecurityScheme> = {}
  const readinessChecks = new Map<string, ReadinessCheck>()
  const routes: RouteOptions[] = []
  // First of all hooks: every route, whichever plugin adds it, as later onRoute hooks leave it.
  app.addHook('onRoute', function mlblocksRoutes(route) {
    routes.push(route as RouteOptions)
  })
  app.decorate('mlblocks', {
    settings,
    env,
    blocks: registry,
    addSecurityScheme: (name: string, scheme: SecurityScheme) => void (securitySchemes[name] = scheme),
    addReadinessCheck: (name: string, check: ReadinessCheck) => void readinessChecks.set(name, check),
    routes: () => routes,
    metrics: metrics?.registry,
  })
  app.decorateRequest('blockAccess', null)
  // Callback-style: on every request, so no promise and no extra tick. Named, so that
  // `printRoutes({ includeHooks: true })` shows what it is.
  app.addHook('onRequest', function mlblocksRequestId(request, reply, done) {
    reply.header('x-request-id', request.id)
    done()
  })
  installErrorHandling(app, settings.bodyLimit)
  app.removeContentTypeParser('text/plain') // bodies are JSON; anything else is a 415
  await registerDocs(app, securitySchemes, version)

  try {
    plugins.forEach((plugin, i) => app.register(pluginFns[i]!, plugin.options))
    await app.register(healthRoutes, { registry, checks: readinessChecks })
    if (metrics) await app.register(async (child) => metricsRoute(child, metrics))
    await app.register(blockRoutes, { registry, metrics })

    const loads = new AbortController()
    app.addHook('onReady', async () => registry.startLoading(app.log, loads.signal))
    let reaper: NodeJS.Timeout | undefined
    app.addHook('preClose', async () => {
      // A keep-alive connection whose request was in flight when closing began turns idle once it
      // is answered; close it then, or server.close() would wait for the client to hang up.
      reaper = setInterval(() => app.server.closeIdleConnections(), 50).unref()
    })
    app.addHook('onClose', async () => {
      clearInterval(reaper)
      loads.abort()
    })

    await app.ready()
  } catch (err) {
    // A plugin that did start (say, with a database pool open) is closed before start-up stops.
    await app.close().catch(() => undefined)
    throw err
  }
  return app
}

/** proxy-addr's hop-count rule: the peer and the `hops - 1` addresses before it are proxies. */
const trustHops = (hops: number) => (_address: string, hop: number) => hop < hops

function checkBlocks(blocks: readonly AnyBlock[]): AnyBlock[] {
  const seen = new Set<string>()
  for (const block of blocks) {
    const name = (block as Partial<AnyBlock> | undefined)?.name
    if (typeof name !== 'string' || !BLOCK_NAME.test(name)) {
      throw new ConfigError(`Block name '${String(name)}' is not valid: use 1-64 lowercase letters, digits and dashes.`)
    }
    if (seen.has(name)) throw new ConfigError(`Two blocks are named '${name}'. Block names must be unique.`)
    if (typeof block.predict !== 'function') throw new ConfigError(`Block '${name}' has no predict() function.`)
    seen.add(name)
  }
  return [...blocks]
}
