import { createServer } from '@mlblocks/core'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, as, createBackend, createUser, echo, login, logCollector, other, packageRoot, SECRET, UNAUTHORIZED, type Backend } from './helpers.js'

// Issue 21: with auth on, every route is classified (public, credential, admin, or a block's), a
// route that no rule classifies stops start-up, and GET /admin/routes shows the classification.

const fixture = (name: string) => `./test/fixtures/${name}`
const authEntry = (backend: Backend, options: Record<string, unknown> = {}) => ({
  module: '@mlblocks/auth',
  enabled: true,
  options: { jwtSecret: SECRET, adminUsername: ADMIN.username, adminPassword: ADMIN.password, loginRateLimit: 1000, ...backend.options, ...options },
})
const start = (backend: Backend, plugins: string[], logStream?: NodeJS.WritableStream) =>
  createServer(
    { blocks: [echo, other], plugins: [authEntry(backend), ...plugins.map((p) => ({ module: fixture(p), enabled: true }))] },
    { root: packageRoot, env: {}, server: { logLevel: logStream ? 'info' : 'silent' }, ...(logStream ? { logStream } : {}) },
  )

describe('deny by default', () => {
  let backend: Backend
  let app: FastifyInstance
  const log = logCollector()
  beforeAll(async () => {
    backend = await createBackend('embedded')
    app = await start(backend, ['late-routes-plugin.mjs', 'admin-route-plugin.mjs'], log.stream)
  }, 180_000)
  afterAll(async () => {
    await app?.close()
    await backend?.drop()
  })

  it('enforces config.access admin on a plugin’s own route: 401 without a credential, 403 MLB_ADMIN_ONLY for a user, 200 for an admin', async () => {
    const admin = await login(app)
    await createUser(app, admin, { username: 'plain' })
    const user = await login(app, 'plain', 'a long enough password')
    expect((await app.inject('/plugin-admin')).json()).toEqual(UNAUTHORIZED)
    expect((await as(app, user)({ url: '/plugin-admin' })).json()).toEqual({ statusCode: 403, code: 'MLB_ADMIN_ONLY', error_message: 'This route is for admins only.' })
    expect((await as(app, admin)({ url: '/plugin-admin' })).json()).toEqual({ admin: true })
    expect((await as(app, user)({ url: '/extra' })).json()).toEqual({ extra: true }) // config.access: 'credential'
  })

  it('lists every route with its access in GET /admin/routes (admins only)', async () => {
    const admin = await login(app)
    const res = await as(app, admin)({ url: '/admin/routes' })
    expect(res.statusCode).toBe(200)
    const table = res.json() as Array<{ method: string; url: string; access: string; anonymous: boolean }>
    const accessOf = (method: string, url: string) => table.find((r) => r.method === method && r.url === url)?.access
    expect(accessOf('GET', '/healthz')).toBe('public')
    expect(accessOf('POST', '/login')).toBe('public')
    expect(accessOf('GET', '/docs/json')).toBe('public')
    expect(accessOf('GET', '/blocks')).toBe('credential')
    expect(accessOf('GET', '/me')).toBe('credential')
    expect(accessOf('POST', '/logout')).toBe('credential')
    expect(accessOf('GET', '/extra')).toBe('credential')
    expect(accessOf('GET', '/extra-open')).toBe('public')
    expect(accessOf('GET', '/plugin-admin')).toBe('admin')
    expect(accessOf('GET', '/blocks/echo')).toBe('block:echo')
    expect(accessOf('POST', '/blocks/other/predict')).toBe('block:other')
    expect(accessOf('POST', '/blocks/:name/predict')).toBe('credential')
    for (const [method, url] of [
      ['GET', '/admin/users'],
      ['DELETE', '/admin/users/:id'],
      ['POST', '/admin/apikeys'],
      ['POST', '/admin/groups'],
      ['PUT', '/admin/groups/:id/members/:user_id'],
      ['POST', '/admin/access/check'],
      ['GET', '/admin/routes'],
    ]) {
      expect(accessOf(method!, url!), `${method} ${url}`).toBe('admin')
    }
    // Every route of the server, none left out; only the public ones reach anonymous callers (no block is public here).
    expect(table.length).toBe(app.mlblocks.routes().reduce((n, r) => n + (Array.isArray(r.method) ? r.method.length : 1), 0))
    for (const row of table) expect(row.anonymous, `${row.method} ${row.url}`).toBe(row.access === 'public')
    expect((await app.inject('/admin/routes')).statusCode).toBe(401)
    const user = await login(app, 'plain', 'a long enough password') // created by the test above
    expect((await as(app, user)({ url: '/admin/routes' })).json().code).toBe('MLB_ADMIN_ONLY')
  })

  it('logs one start-up line that counts the routes of each kind', () => {
    const lines = log.text().split('\n').filter((l) => l.includes('routes classified'))
    expect(lines).toHaveLength(1)
    const line = JSON.parse(lines[0]!) as { msg: string; routes: Record<string, number> }
    expect(line.msg).toMatch(/^auth: \d+ routes classified: \d+ public, \d+ credential, \d+ admin, \d+ block \(GET \/admin\/routes lists them\)$/)
    expect(line.routes.block).toBe(6) // GET and HEAD /blocks/<name> and POST /blocks/<name>/predict, for echo and other
    expect(line.routes.admin).toBeGreaterThan(15)
  })
})

describe('a route that no rule classifies', () => {
  it.each([
    ['unclassified-route-plugin.mjs', "auth: route GET /forgotten is not classified (no config.access): give it config: { access: 'public' | 'credential' | 'admin' } (a block's routes carry config.block), or turn auth off with AUTH_ENABLED=false."],
    ['misclassified-route-plugin.mjs', 'auth: route GET /typo is not classified (config.access "admins"): give it config: { access: \'public\' | \'credential\' | \'admin\' } (a block\'s routes carry config.block), or turn auth off with AUTH_ENABLED=false.'],
  ])('%s: start-up stops with one line naming the route and how to classify it', async (plugin, message) => {
    const backend = await createBackend('embedded')
    try {
      const failure = await start(backend, [plugin]).catch((e: Error) => e)
      expect(failure).toBeInstanceOf(Error)
      expect((failure as Error).message).toBe(message)
    } finally {
      await backend.drop()
    }
  }, 180_000)
})
