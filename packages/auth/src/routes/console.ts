import { readFileSync } from 'node:fs'
import type { FastifyPluginAsync, FastifySchema } from 'fastify'

/** The console's files: shipped in the package (`console/`), beside `dist/`. */
const FOLDER = new URL('../../console/', import.meta.url)

const FILES = [
  ['/console/', 'index.html', 'text/html; charset=utf-8'],
  ['/console/console.js', 'console.js', 'text/javascript; charset=utf-8'],
  ['/console/console.css', 'console.css', 'text/css; charset=utf-8'],
] as const

/**
 * Same origin only, nothing inline, no third party, never framed: a page that handles admin
 * credentials gives an injected script nowhere to load from or send to.
 */
export const CONSOLE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
}

/** Kept out of the OpenAPI document (`hide` is @fastify/swagger's schema flag). */
const hidden = { hide: true } as FastifySchema

/**
 * The web console at `/console/`: static files read once, at registration, served as public routes
 * (they hold no data; everything the console shows comes from the API with the user's own token).
 * Registered only when auth is on and `AUTH_CONSOLE_ENABLED` is not false.
 */
export const consoleRoutes: FastifyPluginAsync = async (app) => {
  for (const [url, file, type] of FILES) {
    const body = readFileSync(new URL(file, FOLDER))
    app.get(url, { config: { public: true }, schema: hidden, logLevel: 'warn' }, async (_request, reply) =>
      reply.headers({ ...CONSOLE_HEADERS, 'content-type': type }).send(body),
    )
  }
  app.get('/console', { config: { public: true }, schema: hidden, logLevel: 'warn' }, async (_request, reply) => reply.redirect('/console/', 301))
}
