import fastifyHelmet from '@fastify/helmet'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync, FastifySchema } from 'fastify'

const PUBLIC = new URL('../public/', import.meta.url)

/** The page's files, each on a route of its own (no wildcard: nothing else in the folder is served). */
const FILES = [
  ['/', 'index.html'],
  ['/app.js', 'app.js'],
  ['/styles.css', 'styles.css'],
] as const

/** Kept out of the OpenAPI document (`hide` is @fastify/swagger's schema flag). */
const hidden = { hide: true } as FastifySchema

/**
 * Serves the playground page at `/` through @fastify/static, with @fastify/helmet's headers on
 * these routes only (this plugin is encapsulated, so the API's answers are untouched). Public
 * routes: the page holds no data, and shows a login form when auth is on.
 */
const webPage: FastifyPluginAsync = async (app) => {
  // Same-origin only: no inline script or style, no third party, never framed.
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        connectSrc: ["'self'"],
        imgSrc: ["'self'"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  })
  // `serve: false`: the routes are declared below, so that each carries `config.public`.
  await app.register(fastifyStatic, { root: PUBLIC, serve: false })
  // RFC 9239 names text/javascript; the mime table @fastify/static reads still says application/.
  app.addHook('onSend', async (_request, reply) => {
    if (String(reply.getHeader('content-type')).startsWith('application/javascript')) reply.header('content-type', 'text/javascript; charset=utf-8')
  })
  for (const [url, file] of FILES) {
    app.get(url, { config: { public: true }, schema: hidden, logLevel: 'warn' }, (_request, reply) =>
      reply.header('cache-control', 'no-cache').sendFile(file, { cacheControl: false }),
    )
  }
}

export default webPage
