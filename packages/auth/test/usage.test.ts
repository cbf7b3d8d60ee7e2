import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { as, buildAuthServer, createBackend, createUser, describeEachBackend, issueKey, logCollector, login, type Backend } from './helpers.js'
import { relay } from './pg-relay.js'
import { needs } from '../../../test-support/services.js'

const predict = (text = 'x') => ({ method: 'POST' as const, url: '/blocks/echo/predict', payload: { text } })
const hourOf = (ms: number) => new Date(ms - (ms % 3_600_000)).toISOString()

describeEachBackend('GET /admin/usage (%s)', (backendName) => {
  let backend: Backend
  let app: FastifyInstance
  let admin: string
  beforeEach(async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend })
    admin = await login(app)
  })
  afterEach(async () => {
    vi.useRealTimers()
    await app.close()
    await backend.drop()
  })

  it('answers requests and errors per user, key, block and hour; a token’s requests have key_id null', async () => {
    const alice = await createUser(app, admin, { username: 'alice', blocks: ['echo'] })
    const key = await issueKey(app, admin, alice.user_id)
    const me = (await as(app, admin)({ url: '/me' })).json() as { user_id: string }
    for (let i = 0; i < 3; i++) expect((await as(app, key.api_key)(predict())).statusCode).toBe(200)
    expect((await as(app, key.api_key)({ ...predict(), payload: { text: 1 } })).statusCode).toBe(400)
    expect((await as(app, key.api_key)({ method: 'POST', url: '/blocks/other/predict', payload: { text: 'x' } })).statusCode).toBe(403)
    expect((await as(app, admin)(predict())).statusCode).toBe(200)
    expect((await app.inject(predict())).statusCode).toBe(401) // no credential: no one's usage
    const hour = hourOf(Date.now())
    const res = await as(app, admin)({ url: '/admin/usage' })
    expect(res.statusCode).toBe(200)
    const rows = res.json() as Array<Record<string, unknown>>
    expect(rows).toHaveLength(3)
    expect(rows).toEqual(
      expect.arrayContaining([
        { user_id: alice.user_id, key_id: key.key_id, block: 'echo', hour, requests: 4, errors: 1 },
        { user_id: alice.user_id, key_id: key.key_id, block: 'other', hour, requests: 1, errors: 1 },
        { user_id: me.user_id, key_id: null, block: 'echo', hour, requests: 1, errors: 0 },
      ]),
    )
    // Filters.
    expect((await as(app, admin)({ url: `/admin/usage?user_id=${me.user_id}` })).json()).toEqual([{ user_id: me.user_id, key_id: null, block: 'echo', hour, requests: 1, errors: 0 }])
    expect((await as(app, admin)({ url: `/admin/usage?key_id=${key.key_id}&block=other` })).json()).toEqual([
      { user_id: alice.user_id, key_id: key.key_id, block: 'other', hour, requests: 1, errors: 1 },
    ])
    const later = new Date(Date.now() + 2 * 3_600_000).toISOString()
    expect((await as(app, admin)({ url: `/admin/usage?since=${encodeURIComponent(later)}` })).json()).toEqual([])
    expect((await as(app, admin)({ url: `/admin/usage?until=${encodeURIComponent(new Date(Date.now() - 2 * 3_600_000).toISOString())}` })).json()).toEqual([])
    expect((await as(app, admin)({ url: `/admin/usage?since=${encodeURIComponent(new Date().toISOString())}&limit=1` })).json()).toHaveLength(1)
  })

  it('keeps counters, never a row per request: 40 predicts of one key are one row', async () => {
    const bob = await createUser(app, admin, { username: 'bob' })
    const key = await issueKey(app, admin, bob.user_id)
    await Promise.all(Array.from({ length: 40 }, () => as(app, key.api_key)(predict())))
    const rows = (await as(app, admin)({ url: `/admin/usage?key_id=${key.key_id}` })).json() as Array<{ requests: number }>
    expect(rows).toEqual([expect.objectContaining({ requests: 40, errors: 0 })])
    await app.close()
    expect(await backend.query('select count(*)::int as n from mlblocks_auth.usage')).toEqual([{ n: 1 }])
    app = await buildAuthServer({ backend })
  })

  it('counts each hour apart', async () => {
    const carol = await createUser(app, admin, { username: 'carol' })
    const key = await issueKey(app, admin, carol.user_id)
    vi.useFakeTimers({ toFake: ['Date'] })
    const first = Date.now()
    await as(app, key.api_key)(predict())
    vi.setSystemTime(first + 3_600_000)
    await as(app, key.api_key)(predict())
    await as(app, key.api_key)(predict())
    admin = await login(app) // the first token has expired (1 h)
    const rows = (await as(app, admin)({ url: `/admin/usage?key_id=${key.key_id}` })).json()
    expect(rows).toEqual([
      expect.objectContaining({ hour: hourOf(first + 3_600_000), requests: 2 }),
      expect.objectContaining({ hour: hourOf(first), requests: 1 }),
    ])
  })

  it('refuses bad filters (400), non-admins (403) and no credential (401)', async () => {
    const dave = await createUser(app, admin, { username: 'dave' })
    const token = await login(app, 'dave', 'a long enough password')
    for (const query of ['user_id=nope', 'key_id=1', 'block=Not_A_Block', 'since=yesterday', 'limit=0', 'limit=10001', 'color=red']) {
      const res = await as(app, admin)({ url: `/admin/usage?${query}` })
      expect(res.statusCode, query).toBe(400)
      expect(res.json(), query).toEqual({ statusCode: 400, code: 'MLB_BAD_INPUT', error_message: expect.stringMatching(/querystring/) })
    }
    expect((await as(app, token)({ url: '/admin/usage' })).json()).toEqual({ statusCode: 403, code: 'MLB_ADMIN_ONLY', error_message: 'This route is for admins only.' })
    expect((await app.inject({ url: '/admin/usage' })).statusCode).toBe(401)
    expect(dave.user_id).toBeTruthy()
  })

  it('is documented with an operationId, a summary and a schema per status', async () => {
    const doc = (await app.inject({ url: '/docs/json' })).json()
    const op = doc.paths['/admin/usage'].get
    expect(op.operationId).toBe('get_usage')
    expect(op.summary).toMatch(/per user, API key, block and hour/)
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '403', '503'])
  })

  it('is pruned with the audit log: hours older than AUTH_AUDIT_RETENTION go at start-up', async () => {
    const erin = await createUser(app, admin, { username: 'erin' })
    const key = await issueKey(app, admin, erin.user_id)
    await as(app, key.api_key)(predict())
    await app.close()
    const old = new Date(Date.now() - 3 * 86_400_000).toISOString()
    await backend.query(`insert into mlblocks_auth.usage (user_id, key_id, block, hour, requests, errors) values ('${erin.user_id}', '${key.key_id}', 'echo', '${old}', 7, 0)`)
    app = await buildAuthServer({ backend, options: { auditRetention: '2d' } })
    admin = await login(app)
    const rows = (await as(app, admin)({ url: `/admin/usage?key_id=${key.key_id}` })).json() as Array<{ requests: number }>
    expect(rows.map((r) => r.requests)).toEqual([1])
  })
})

needs('postgres').describe('usage across instances on one Postgres', () => {
  let backend: Backend | undefined
  afterEach(async () => {
    await backend?.drop()
    backend = undefined
  })

  it('two instances add to the same counters', async () => {
    backend = await createBackend('postgres')
    const [a, b] = await Promise.all([buildAuthServer({ backend }), buildAuthServer({ backend })])
    try {
      const admin = await login(a)
      const frank = await createUser(a, admin, { username: 'frank' })
      const key = await issueKey(a, admin, frank.user_id)
      for (let i = 0; i < 5; i++) await as(a, key.api_key)(predict())
      for (let i = 0; i < 7; i++) await as(b, key.api_key)(predict())
      await as(b, admin)({ url: '/admin/usage' }) // b flushes what it counted
      const rows = (await as(a, admin)({ url: `/admin/usage?key_id=${key.key_id}` })).json()
      expect(rows).toEqual([expect.objectContaining({ requests: 12, errors: 0 })])
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})

needs('postgres').describe('usage while the database is down', () => {
  let backend: Backend | undefined
  afterEach(async () => {
    await backend?.drop()
    backend = undefined
  })

  it('a flush that fails keeps the counters, and the next one writes them', async () => {
    backend = await createBackend('postgres')
    const database = new URL(backend.options.databaseUrl!).pathname.slice(1)
    const tcp = await relay(new URL(process.env.TEST_DATABASE_URL!))
    const logs = logCollector()
    const app = await buildAuthServer({ backend, options: { databaseUrl: tcp.url(database) }, logStream: logs.stream })
    try {
      const admin = await login(app)
      const gina = await createUser(app, admin, { username: 'gina' })
      const key = await issueKey(app, admin, gina.user_id)
      for (let i = 0; i < 3; i++) expect((await as(app, key.api_key)(predict())).statusCode).toBe(200)
      await tcp.cut() // before the periodic flush (every 5 s) has written them
      await vi.waitFor(() => expect(logs.text()).toContain('usage: could not write the counters'), { timeout: 30_000, interval: 200 })
      await tcp.restore()
      const rows = await vi.waitFor(
        async () => {
          const res = await as(app, await login(app))({ url: `/admin/usage?key_id=${key.key_id}` })
          expect(res.statusCode).toBe(200)
          return res.json()
        },
        { timeout: 30_000, interval: 500 },
      )
      expect(rows).toEqual([expect.objectContaining({ requests: 3, errors: 0 })])
    } finally {
      await app.close()
      await tcp.close()
    }
  }, 90_000)
})
