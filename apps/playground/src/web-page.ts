import { readFileSync } from 'node:fs'
import type { FastifyPluginAsync, FastifySchema } from 'fastify'

const PUBLIC = new URL('../public/', import.meta.url)

const FILES = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/app.js', 'app.js', 'text/javascript; charset=utf-8'],
  ['/styles.css', 'styles.css', 'text/css; charset=utf-8'],
] as const

/** Same-origin only: no inline script or style, no third party. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
}

/** Kept out of the OpenAPI document (`hide` is @fastify/swagger's schema flag). */
const hidden = { hide: true } as FastifySchema

/**
 * Serves the playground page at `/` (files read once, at registration). Public routes: the page
 * holds no data, and shows a login form when auth is on.
 */
const webPage: FastifyPluginAsync = async (app) => {
  for (const [url, file, type] of FILES) {
    const body = readFileSync(new URL(file, PUBLIC))
    app.get(url, { config: { public: true }, schema: hidden, logLevel: 'warn' }, async (_request, reply) =>
      reply.headers({ ...SECURITY_HEADERS, 'content-type': type }).send(body),
    )
  }
}

export default webPage
