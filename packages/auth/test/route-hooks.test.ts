import { createServer } from '@mlblocks/core'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, as, createBackend, echo, login, packageRoot, SECRET, UNAUTHORIZED, type Backend } from './helpers.js'

// Issue 26: the credential check is attached to the routes that need it, so that public routes run
// no auth code at all; every route is still classified at start-up, and one that escaped is refused.

const fixture = (name: string) => `./test/fixtures/${name}`
const authEntry = (backend: Backend) => ({
  module: '@mlblocks/auth',
  enabled: true,
  options: { jwtSecret: SECRET, adminUsername: ADMIN.username, adminPassword: ADMIN.password, loginRateLimit: 1000, ...backend.options },
})

/**
 * `printRoutes({ includeHooks: true })` (what the bench's off-means-off check reads), as
 * `METHOD /full/path` → the onRequest hooks Fastify will run for it, root hooks included.
 */
function onRequestHooks(app: FastifyInstance): Map<string, string[]> {
  const hooks = new Map<string, string[]>()
  const segments: string[] = []
  let current: string[] = []
  for (const line of app.printRoutes({ includeHooks: true, commonPrefix: false }).split('\n')) {
    const text = line.replace(/^[│├└─ ]+/, '')
    const column = line.length - text.length
    const hook = /^• \(onRequest\) (\[.*\])$/.exec(text)
    if (hook) {
      for (const route of current) hooks.set(route, JSON.parse(hook[1]!) as string[])
      continue
    }
    const route = /^(.*) \(([A-Z, ]+)\)$/.exec(text)
    if (!route) continue
    const depth = column / 4
    segments.length = depth
    segments[depth - 1] = route[1]!
    const path = segments.join('')
    current = route[2]!.split(', ').map((method) => `${method} ${path}`)
    for (const r of current) hooks.set(r, [])
  }
  return hooks
}

describe('the credential check, route by route', () => {
  let backend: Backend
  let app: FastifyInstance
  beforeAll(async () => {
    backend = await createBackend('embedded')
    app = await createServer(
      {
        blocks: [echo],
        plugins: [{ module: fixture('early-public-plugin.mjs'), enabled: true }, authEntry(backend), { module: fixture('late-routes-plugin.mjs'), enabled: true }],
      },
      { root: packageRoot, env: {}, server: { logLevel: 'silent' } },
    )
  }, 180_000)
  afterAll(async () => {
    await app?.close()
    await backend?.drop()
  })

  it('runs no auth hook on the public routes, and the check first on every other route', () => {
    const hooks = onRequestHooks(app)
    const open = ['GET /healthz', 'HEAD /healthz', 'GET /readyz', 'GET /docs/json', 'GET /docs/', 'POST /login', 'GET /extra-open', 'GET /early-open']
    for (const route of open) {
      expect(hooks.get(route), route).toBeDefined()
      expect(hooks.get(route)!.filter((h) => h.startsWith('mlblocks')), route).toEqual(['mlblocksRequestId()'])
    }
    // Only the login's own rate limit besides: nothing of the credential check.
    expect(hooks.get('POST /login')!.some((h) => /authenticate|requireadmin/i.test(h))).toBe(false)
    const checked = ['GET /blocks', 'HEAD /blocks', 'GET /blocks/echo', 'POST /blocks/echo/predict', 'GET /me', 'POST /logout', 'GET /extra', 'HEAD /extra']
    for (const route of checked) expect(hooks.get(route), route).toEqual(['mlblocksRequestId()', 'mlblocksAuthenticate()'])
    for (const route of ['GET /admin/users', 'POST /admin/apikeys', 'DELETE /admin/users/:id', 'GET /admin/audit']) {
      expect(hooks.get(route), route).toEqual(['mlblocksRequestId()', 'mlblocksAuthenticate()', 'mlblocksRequireAdmin()'])
    }
  })

  it('still answers 401 without a credential on every protected route, a later plugin\'s included', async () => {
    const routes = [
      ['GET', '/blocks'],
      ['GET', '/blocks/echo'],
      ['POST', '/blocks/echo/predict'],
      ['GET', '/me'],
      ['POST', '/logout'],
      ['GET', '/admin/users'],
      ['GET', '/extra'],
      ['HEAD', '/extra'],
    ] as const
    for (const [method, url] of routes) {
      const res = await app.inject({ method, url, ...(method === 'POST' && url.endsWith('predict') ? { payload: { text: 'x' } } : {}) })
      expect(res.statusCode, `${method} ${url}`).toBe(401)
      if (method !== 'HEAD') expect(res.json(), `${method} ${url}`).toEqual(UNAUTHORIZED)
    }
    for (const url of ['/healthz', '/extra-open', '/early-open', '/docs/json']) expect((await app.inject(url)).statusCode, url).toBe(200)
  })

  it('lets a valid credential through, checks admin after the credential (401 before 403), and refuses a non-admin', async () => {
    const token = await login(app)
    expect((await as(app, token)({ url: '/extra' })).json()).toEqual({ extra: true })
    expect((await as(app, token)({ url: '/admin/users' })).statusCode).toBe(200)
    expect((await as(app, 'not-a-credential')({ url: '/admin/users' })).statusCode).toBe(401)
    const user = await as(app, token)({ method: 'POST', url: '/admin/users', payload: { username: 'route-user', password: 'a long enough password', role: 'user' } })
    expect(user.statusCode).toBe(201)
    const userToken = await login(app, 'route-user', 'a long enough password')
    expect((await as(app, userToken)({ url: '/admin/users' })).statusCode).toBe(403)
    expect((await as(app, userToken)({ url: '/extra' })).statusCode).toBe(200)
  })
})

describe('a route that escaped the check', () => {
  it('stops start-up with one line naming the route and the off switch, rather than serving it open', async () => {
    const backend = await createBackend('embedded')
    try {
      const started = createServer(
        { blocks: [echo], plugins: [{ module: fixture('early-route-plugin.mjs'), enabled: true }, authEntry(backend)] },
        { root: packageRoot, env: {}, server: { logLevel: 'silent' } },
      )
      await expect(started).rejects.toThrow(/^auth: route GET \/sneaky would be open: .*AUTH_ENABLED=false\.$/)
    } finally {
      await backend.drop()
    }
  }, 180_000)
})
