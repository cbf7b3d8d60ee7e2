import { createHmac, generateKeyPairSync, createSign } from 'node:crypto'
import { connect, type AddressInfo } from 'node:net'
import { DrizzleQueryError } from 'drizzle-orm/errors'
import type { FastifyInstance } from 'fastify'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ADMIN,
  as,
  describeEachBackend,
  buildAuthServer,
  createBackend,
  createUser,
  issueKey,
  login,
  logCollector,
  SECRET,
  UNAUTHORIZED,
  type Backend,
} from './helpers.js'

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const hs = (alg: 'sha256' | 'sha512', secret: string | Buffer, signingInput: string) => createHmac(alg, secret).update(signingInput).digest('base64url')
const decode = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())

/** A JWT with any header and payload, signed however the test says. */
function jwt(header: Record<string, unknown>, payload: Record<string, unknown>, sign: (input: string) => string): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${sign(input)}`
}

const PASSWORD = 'a long enough password'
const err = (statusCode: number, code: string) => ({ statusCode, code, error_message: expect.any(String) })

describeEachBackend('auth under attack (%s database)', (backendName) => {
  let backend: Backend
  let app: FastifyInstance
  let admin: string
  const log = logCollector()
  /** Every secret the suite handles: none may appear in a log line or the database. */
  const secrets: string[] = [ADMIN.password, PASSWORD, SECRET]

  beforeAll(async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, logStream: log.stream, options: { loginFreeAttempts: 100_000 } })
    admin = await login(app)
    secrets.push(admin)
  })
  afterAll(async () => {
    await app?.close()
    await backend?.drop()
  })

  /** Users and keys as stored, read through a fresh admin login (the embedded database admits one process). */
  const snapshot = async () => {
    const token = await login(app)
    const users = (await as(app, token)({ url: '/admin/users' })).json()
    const keys = (await as(app, token)({ url: '/admin/apikeys' })).json().map((k: { last_used_at: unknown }) => ({ ...k, last_used_at: null }))
    await as(app, token)({ method: 'POST', url: '/logout' })
    return JSON.stringify({ users, keys })
  }

  describe('login tokens: every forgery or stale token is a 401 with the same message', () => {
    it('refuses alg none, RS256, HS512, a tampered payload, a wrong secret, not-yet-valid, expired, revoked, and disabled or deleted users', async () => {
      const user = await createUser(app, admin, { username: 'victim' })
      const token = await login(app, 'victim', PASSWORD)
      secrets.push(token)
      const claims = decode(token)
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
      const now = Math.floor(Date.now() / 1000)
      const forged = {
        'alg none': jwt({ alg: 'none', typ: 'JWT' }, claims, () => ''),
        'RS256 (key confusion)': jwt({ alg: 'RS256', typ: 'JWT' }, claims, (i) => createSign('RSA-SHA256').update(i).sign(privateKey).toString('base64url')),
        'HS512 with the right secret': jwt({ alg: 'HS512', typ: 'JWT' }, claims, (i) => hs('sha512', SECRET, i)),
        'payload tampered (sub → admin)': `${token.split('.')[0]}.${b64({ ...claims, sub: decode(admin).sub })}.${token.split('.')[2]}`,
        'wrong secret': jwt({ alg: 'HS256', typ: 'JWT' }, claims, (i) => hs('sha256', 'x'.repeat(40), i)),
        'not yet valid': jwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, nbf: now + 3600 }, (i) => hs('sha256', SECRET, i)),
        expired: jwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now - 7200, exp: now - 3600 }, (i) => hs('sha256', SECRET, i)),
        'unknown jti': jwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, jti: '00000000-0000-4000-8000-000000000000' }, (i) => hs('sha256', SECRET, i)),
        'no signature': token.split('.').slice(0, 2).join('.') + '.',
      }
      for (const [name, forgery] of Object.entries(forged)) {
        const res = await as(app, forgery)({ url: '/me' })
        expect({ name, body: res.json() }).toEqual({ name, body: UNAUTHORIZED })
      }
      // The genuine one works until it is revoked, or its user is disabled or deleted.
      expect((await as(app, token)({ url: '/me' })).statusCode).toBe(200)
      const second = await login(app, 'victim', PASSWORD)
      await as(app, second)({ method: 'POST', url: '/logout' })
      expect((await as(app, second)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      await as(app, admin)({ method: 'PATCH', url: `/admin/users/${user.user_id}`, payload: { disabled: true } })
      expect((await as(app, token)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      await as(app, admin)({ method: 'DELETE', url: `/admin/users/${user.user_id}` })
      expect((await as(app, token)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
    })
  })

  describe('API keys: every wrong or stale key is a 401', () => {
    it('refuses wrong, truncated, padded, re-prefixed, revoked, expired keys and keys in the query string', async () => {
      const user = await createUser(app, admin, { username: 'keyholder' })
      const { api_key, key_id } = await issueKey(app, admin, user.user_id)
      const soon = await issueKey(app, admin, user.user_id, new Date(Date.now() + 1500).toISOString())
      secrets.push(api_key, soon.api_key)
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
      for (const bad of [flip(api_key, 20), api_key.slice(0, -1), `${api_key}x`, `mlx_${api_key.slice(4)}`, flip(api_key, 5), api_key.toUpperCase()]) {
        expect((await app.inject({ url: '/me', headers: { 'x-api-key': bad } })).json()).toEqual(UNAUTHORIZED)
        expect((await as(app, bad)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      }
      expect((await app.inject({ url: `/me?api_key=${api_key}` })).json()).toEqual(UNAUTHORIZED)
      await new Promise((r) => setTimeout(r, 1600))
      expect((await as(app, soon.api_key)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      expect((await as(app, api_key)({ url: '/me' })).statusCode).toBe(200)
      await as(app, admin)({ method: 'DELETE', url: `/admin/apikeys/${key_id}` })
      expect((await as(app, api_key)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
    })
  })

  describe('privilege: refused, and nothing changes in the database', () => {
    it('a user on every /admin route, changing its own role, calling a block it was not granted; the last admin demoting or deleting itself', async () => {
      const user = await createUser(app, admin, { username: 'climber', blocks: ['echo'] })
      const token = await login(app, 'climber', PASSWORD)
      const before = await snapshot()
      const attempts: Array<[string, string, unknown]> = [
        ['POST', '/admin/users', { username: 'evil', password: PASSWORD, role: 'admin' }],
        ['GET', '/admin/users', undefined],
        ['GET', `/admin/users/${user.user_id}`, undefined],
        ['PATCH', `/admin/users/${user.user_id}`, { role: 'admin' }],
        ['PATCH', `/admin/users/${user.user_id}`, { blocks: ['*'] }],
        ['DELETE', `/admin/users/${decode(admin).sub}`, undefined],
        ['POST', '/admin/apikeys', { user_id: user.user_id }],
        ['GET', '/admin/apikeys', undefined],
        ['DELETE', '/admin/apikeys/00000000-0000-4000-8000-000000000000', undefined],
        ['GET', '/admin/audit', undefined],
        ['POST', '/admin/groups', { name: 'mine', blocks: ['*'] }],
        ['GET', '/admin/groups', undefined],
        ['PATCH', '/admin/groups/00000000-0000-4000-8000-000000000000', { blocks: ['*'] }],
        ['DELETE', '/admin/groups/00000000-0000-4000-8000-000000000000', undefined],
        ['PUT', `/admin/groups/00000000-0000-4000-8000-000000000000/members/${user.user_id}`, undefined],
        ['POST', '/admin/access/check', { user_id: user.user_id, block: 'other' }],
        ['GET', '/admin/routes', undefined],
      ]
      for (const [method, url, payload] of attempts) {
        const res = await as(app, token)({ method: method as 'GET', url, ...(payload === undefined ? {} : { payload: payload as object }) })
        expect(res.json(), `${method} ${url}`).toEqual(err(403, 'MLB_ADMIN_ONLY'))
      }
      expect((await as(app, token)({ method: 'POST', url: '/blocks/other/predict', payload: { text: 'x' } })).json()).toEqual(err(403, 'MLB_BLOCK_NOT_GRANTED'))
      expect(await snapshot()).toBe(before)

      const rootId = decode(admin).sub
      const others = (await as(app, admin)({ url: '/admin/users' })).json().filter((u: { role: string; user_id: string }) => u.role === 'admin' && u.user_id !== rootId)
      for (const u of others) await as(app, admin)({ method: 'DELETE', url: `/admin/users/${u.user_id}` })
      const users = await snapshot()
      expect((await as(app, admin)({ method: 'PATCH', url: `/admin/users/${rootId}`, payload: { role: 'user' } })).json()).toEqual(err(409, 'MLB_LAST_ADMIN'))
      expect((await as(app, admin)({ method: 'PATCH', url: `/admin/users/${rootId}`, payload: { disabled: true } })).json()).toEqual(err(409, 'MLB_LAST_ADMIN'))
      expect((await as(app, admin)({ method: 'DELETE', url: `/admin/users/${rootId}` })).json()).toEqual(err(409, 'MLB_LAST_ADMIN'))
      expect(await snapshot()).toBe(users)
    })
  })

  describe('hostile input: a 4xx in the error shape, never a 500, nothing written', () => {
    const nasty = [
      "' OR '1'='1",
      "admin'--",
      "'; DROP TABLE mlblocks_auth.users; --",
      'x'.repeat(100_000),
      '\u0000\u0001\u0002\u001b[31m',
      '\u202e\u200b\ufeff𝕒𝕕𝕞𝕚𝕟',
      '😀'.repeat(300),
      '../../etc/passwd',
      '%00%27',
    ]
    it('in every string field of every endpoint', async () => {
      const before = await snapshot()
      const bodies: Array<[string, string, (s: string) => unknown]> = [
        ['POST', '/login', (s) => ({ username: s, password: s })],
        ['POST', '/admin/users', (s) => ({ username: s, password: s, role: s })],
        ['POST', '/admin/users', (s) => ({ username: s, password: PASSWORD, role: 'user', blocks: [s] })],
        ['PATCH', `/admin/users/${decode(admin).sub}`, (s) => ({ blocks: [s] })],
        ['POST', '/admin/apikeys', (s) => ({ user_id: s, expiration_date: s })],
        ['POST', '/blocks/echo/predict', (s) => ({ text: s, extra: s })],
      ]
      for (const s of nasty) {
        for (const [method, url, body] of bodies) {
          const res = await as(app, admin)({ method: method as 'POST', url, payload: body(s) as object })
          const what = `${method} ${url} ${JSON.stringify(s).slice(0, 40)}: ${res.body.slice(0, 200)}`
          expect(res.statusCode, what).toBeGreaterThanOrEqual(400)
          expect(res.statusCode, what).toBeLessThan(500)
          expect(Object.keys(res.json()).sort()).toEqual(['code', 'error_message', 'statusCode'])
        }
        for (const url of [`/admin/users/${encodeURIComponent(s.slice(0, 200))}`, `/admin/apikeys?user_id=${encodeURIComponent(s.slice(0, 200))}`, `/admin/audit?actor=${encodeURIComponent(s.slice(0, 200))}`]) {
          const res = await as(app, admin)({ url })
          expect(res.statusCode, url).toBeLessThan(500)
        }
      }
      expect(await snapshot()).toBe(before)
    })

    it('oversized and deeply nested bodies, unknown fields such as role on /login', async () => {
      const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)
      for (const payload of [deep, JSON.stringify({ username: 'x', password: 'y'.repeat(2_000_000) }), JSON.stringify({ ...ADMIN, role: 'admin' }), '[]', 'null', '"string"', '{"username":{"$ne":null},"password":{"$ne":null}}']) {
        const res = await app.inject({ method: 'POST', url: '/login', payload, headers: { 'content-type': 'application/json' } })
        expect(res.statusCode, payload.slice(0, 40)).toBeGreaterThanOrEqual(400)
        expect(res.statusCode).toBeLessThan(500)
        expect(Object.keys(res.json()).sort()).toEqual(['code', 'error_message', 'statusCode'])
      }
    })
  })

  describe('enumeration', () => {
    it('an unknown username and a wrong password get the same answer, in about the same time (medians within 10%)', async () => {
      await createUser(app, admin, { username: 'known' })
      const attempt = async (username: string) => {
        const started = performance.now()
        const res = await app.inject({ method: 'POST', url: '/login', payload: { username, password: 'not the password' }, remoteAddress: `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` })
        return { ms: performance.now() - started, status: res.statusCode, body: res.body }
      }
      const known: number[] = []
      const unknown: number[] = []
      for (let i = 0; i < 3; i++) await attempt('known') // warm-up
      // 60 interleaved pairs: enough for medians that other load on the machine moves alike.
      for (let i = 0; i < 60; i++) {
        // Alternate which goes first, so drift in the machine's speed hits both alike.
        let wrong, ghost
        if (i % 2) {
          wrong = await attempt('known')
          ghost = await attempt(`ghost${i}`)
        } else {
          ghost = await attempt(`ghost${i}`)
          wrong = await attempt('known')
        }
        expect(wrong.status).toBe(401)
        expect(ghost.body).toBe(wrong.body)
        known.push(wrong.ms)
        unknown.push(ghost.ms)
      }
      const median = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1]!
      expect(Math.abs(median(known) - median(unknown)) / Math.max(median(known), median(unknown))).toBeLessThan(0.1)
    })
  })

  describe('fuzzing every endpoint (fast-check)', () => {
    it('random methods, headers and bodies never get a 5xx or a body outside the error shape, and the server keeps serving', async () => {
      const user = await createUser(app, admin, { username: 'fuzzed' })
      const fuzzer = await login(app) // the fuzz may log this token out
      secrets.push(fuzzer)
      const routes = ['/login', '/logout', '/me', '/admin/users', `/admin/users/${user.user_id}`, '/admin/apikeys', '/admin/apikeys/00000000-0000-4000-8000-000000000000', '/admin/audit', '/blocks', '/blocks/echo', '/blocks/echo/predict', '/healthz', '/readyz', '/admin/groups', '/admin/groups/00000000-0000-4000-8000-000000000000', `/admin/groups/00000000-0000-4000-8000-000000000000/members/${user.user_id}`, '/admin/access/check', '/admin/routes']
      const json = fc.jsonValue({ maxDepth: 4 })
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT'),
          fc.constantFrom(...routes),
          fc.option(fc.constantFrom(`Bearer ${fuzzer}`, 'Bearer garbage', `Bearer ${fuzzer.slice(0, -3)}`, 'Basic YWRtaW46YWRtaW4=', ''), { nil: undefined }),
          fc.oneof(json, fc.record({ username: fc.string(), password: fc.string(), role: fc.string(), blocks: fc.array(fc.string()), user_id: fc.string(), disabled: fc.anything() }), fc.record({ name: fc.string(), blocks: fc.array(fc.string()), user_id: fc.option(fc.uuid()), key_id: fc.option(fc.uuid()), block: fc.constantFrom('echo', 'other', 'nope', '') })),
          fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1'),
          async (method, url, authorization, body, contentType) => {
            const res = await app.inject({
              method: method as 'GET',
              url,
              headers: { ...(authorization === undefined ? {} : { authorization }), 'content-type': contentType },
              ...(method === 'GET' || method === 'DELETE' ? {} : { payload: JSON.stringify(body) ?? 'null' }),
            })
            expect(res.statusCode, `${method} ${url}`).toBeLessThan(500)
            if (res.statusCode >= 400) expect(Object.keys(res.json()).sort()).toEqual(['code', 'error_message', 'statusCode'])
          },
        ),
        { numRuns: 300, seed: 20261128 },
      )
      expect((await app.inject('/healthz')).statusCode).toBe(200)
      expect((await as(app, await login(app))({ url: '/me' })).statusCode).toBe(200)
    })
  })

  describe('hardening (issue 19): changes end sessions in flight, no 5xx from races, bounded writes, strict credentials', () => {
    it('a login in flight while an admin changes the password, disables, changes the role or deletes the user: its token never works', async () => {
      let raced = 0
      const changes: Array<[string, (id: string) => Promise<unknown>]> = [
        ['password', (id) => as(app, admin)({ method: 'PATCH', url: `/admin/users/${id}`, payload: { password: 'the new long password' } })],
        ['disable', (id) => as(app, admin)({ method: 'PATCH', url: `/admin/users/${id}`, payload: { disabled: true } })],
        ['role', (id) => as(app, admin)({ method: 'PATCH', url: `/admin/users/${id}`, payload: { role: 'admin' } })],
        ['delete', (id) => as(app, admin)({ method: 'DELETE', url: `/admin/users/${id}` })],
      ]
      for (const [what, change] of changes) {
        for (let round = 0; round < 2; round++) {
          const user = await createUser(app, admin, { username: `inflight-${what}-${round}` })
          const finished: string[] = []
          // A password change hashes first: send it first, so that the login reads the row before it commits.
          const first = what === 'password' ? change(user.user_id).then(() => finished.push('change')) : undefined
          const loggingIn = app.inject({ method: 'POST', url: '/login', payload: { username: user.username, password: PASSWORD } }).then((res) => (finished.push('login'), res))
          await new Promise((r) => setImmediate(r))
          const changed = first ?? change(user.user_id).then(() => finished.push('change'))
          const [res] = await Promise.all([loggingIn, changed])
          expect(res.statusCode, `${what}: ${res.body}`).toBeLessThan(500)
          if (finished[0] === 'change') {
            raced += 1 // the change committed while the login's argon2 ran
            expect(res.json(), what).toEqual(err(401, 'MLB_LOGIN_FAILED'))
          }
          if (res.statusCode === 200) {
            secrets.push(res.json().token)
            expect((await as(app, res.json().token)({ url: '/me' })).json(), what).toEqual(UNAUTHORIZED)
          }
          if (what === 'disable') {
            await as(app, admin)({ method: 'PATCH', url: `/admin/users/${user.user_id}`, payload: { disabled: false } }) // re-enabling revives nothing
            if (res.statusCode === 200) expect((await as(app, res.json().token)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
          }
        }
      }
      expect(raced).toBeGreaterThan(0) // the race was run, not only the easy order
    }, 180_000)

    it('POST /admin/apikeys racing the user’s deletion answers 201 or 404, never a 500', async () => {
      for (let i = 0; i < 4; i++) {
        const user = await createUser(app, admin, { username: `doomed-${i}` })
        const [issued, deleted] = await Promise.all([
          as(app, admin)({ method: 'POST', url: '/admin/apikeys', payload: { user_id: user.user_id } }),
          as(app, admin)({ method: 'DELETE', url: `/admin/users/${user.user_id}` }),
        ])
        expect([201, 404], issued.body).toContain(issued.statusCode)
        if (issued.statusCode === 201) secrets.push(issued.json().api_key)
        expect(deleted.statusCode).toBe(204)
      }
    }, 120_000)

    it('accepts a leap second as the next second; refuses dates and ids out of range with a 400 naming the field', async () => {
      const user = await createUser(app, admin, { username: 'leaper' })
      const leap = await as(app, admin)({ method: 'POST', url: '/admin/apikeys', payload: { user_id: user.user_id, expiration_date: '2030-06-30T23:59:60Z' } })
      expect(leap.statusCode, leap.body).toBe(201)
      expect(leap.json().expiration_date).toBe('2030-07-01T00:00:00.000Z')
      secrets.push(leap.json().api_key)
      expect((await as(app, admin)({ url: `/admin/audit?since=${encodeURIComponent('2030-06-30T23:59:60Z')}` })).statusCode).toBe(200)
      const bad: Array<[string, string]> = [
        ['/admin/audit?since=0000-01-01T00:00:00Z', 'querystring.since'],
        ['/admin/audit?until=0000-01-01T00:00:00Z', 'querystring.until'],
        ['/admin/audit?before=1e20', 'querystring.before'],
        ['/admin/audit?before=9223372036854775807', 'querystring.before'],
      ]
      for (const [url, field] of bad) {
        const res = await as(app, admin)({ url })
        expect(res.json(), url).toEqual({ statusCode: 400, code: 'MLB_BAD_INPUT', error_message: expect.stringContaining(field) })
      }
      const year0 = await as(app, admin)({ method: 'POST', url: '/admin/apikeys', payload: { user_id: user.user_id, expiration_date: '0000-01-01T00:00:00Z' } })
      expect(year0.json()).toEqual({ statusCode: 400, code: 'MLB_BAD_INPUT', error_message: expect.stringContaining('body.expiration_date') })
    })

    it('a flood of random keys from one address writes a bounded number of audit rows, whose counts add up to the flood', async () => {
      const address = '10.77.0.1'
      const flood = 300
      for (let i = 0; i < flood; i++) {
        const key = `mlb_${Buffer.from(crypto.getRandomValues(new Uint8Array(27))).toString('base64').replace(/[^0-9A-Za-z]/g, 'z').slice(0, 36)}`
        const res = await app.inject({ url: '/blocks', headers: i % 2 ? { 'x-api-key': key } : { authorization: `Bearer ${key}` }, remoteAddress: address })
        expect(res.json()).toEqual(UNAUTHORIZED)
      }
      const rows = ((await as(app, admin)({ url: '/admin/audit?action=access.denied&limit=500' })).json() as Array<{ client_address: string; target: string; count: number }>).filter(
        (e) => e.client_address === address,
      )
      expect(rows.length).toBeGreaterThan(0)
      expect(rows.length).toBeLessThanOrEqual(2) // one per minute: two if the flood crossed a minute
      expect(rows.every((e) => e.target === 'GET /blocks')).toBe(true)
      expect(rows.reduce((n, e) => n + e.count, 0)).toBe(flood)
    })

    it('refuses a token in X-API-Key, two Authorization headers, and a signed token without iss, sub, jti or exp', async () => {
      const token = await login(app)
      secrets.push(token)
      expect((await app.inject({ url: '/me', headers: { 'x-api-key': token } })).json()).toEqual(UNAUTHORIZED)
      const claims = decode(token)
      for (const missing of ['iss', 'sub', 'jti', 'exp']) {
        const { [missing]: _dropped, ...rest } = claims
        const forged = jwt({ alg: 'HS256', typ: 'JWT' }, rest, (i) => hs('sha256', SECRET, i))
        expect((await as(app, forged)({ url: '/me' })).json(), missing).toEqual(UNAUTHORIZED)
      }
      expect((await as(app, jwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, iss: 'someone-else' }, (i) => hs('sha256', SECRET, i)))({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      // Node keeps the first of two Authorization headers: over a real socket, both are sent.
      await app.listen({ port: 0, host: '127.0.0.1' })
      const { port } = app.server.address() as AddressInfo
      const answer = await new Promise<string>((resolve, reject) => {
        let text = ''
        const socket = connect(port, '127.0.0.1', () =>
          socket.end(`GET /me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${token}\r\nAuthorization: Bearer ${token}\r\n\r\n`),
        )
        socket.on('data', (d: Buffer) => (text += d.toString())).on('end', () => resolve(text)).on('error', reject)
      })
      expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized')
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual(UNAUTHORIZED)
    })

    it('compares passwords after NFC normalisation; a lone surrogate is a 400', async () => {
      const composed = 'caf\u00e9 au lait, s\u2019il vous pla\u00eet'
      await createUser(app, admin, { username: 'unicode', password: composed })
      expect((await app.inject({ method: 'POST', url: '/login', payload: { username: 'unicode', password: composed.normalize('NFD') } })).statusCode).toBe(200)
      expect((await app.inject({ method: 'POST', url: '/login', payload: { username: 'UNICODE', password: composed } })).statusCode).toBe(200) // either case
      for (const [url, body] of [
        ['/login', { username: 'unicode', password: 'a long password \ud800' }],
        ['/admin/users', { username: 'surrogate', password: 'a long password \udc00', role: 'user' }],
      ] as const) {
        const res = await as(app, admin)({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
        expect(res.json(), url).toEqual({ statusCode: 400, code: 'MLB_BAD_INPUT', error_message: expect.stringContaining('body.password is not valid Unicode') })
      }
      // Two passwords that differ only in their lone surrogate would hash alike (U+FFFD): neither is accepted.
      expect((await app.inject({ method: 'POST', url: '/login', payload: JSON.stringify({ username: 'unicode', password: `${composed}\ud801` }), headers: { 'content-type': 'application/json' } })).statusCode).toBe(400)
    })

    it('never logs a failed query’s parameters (a key hash in a drizzle error)', async () => {
      const keyHash = createHmac('sha256', 'h').update(String(Math.random())).digest('hex')
      secrets.push(keyHash)
      const cause = Object.assign(new Error('insert or update on table "api_keys" violates foreign key constraint'), { code: '23503', detail: `Key (key_hash)=(${keyHash}) is not present`, parameters: [keyHash] })
      app.log.error({ err: new DrizzleQueryError('insert into "mlblocks_auth"."api_keys" ("key_hash") values ($1)', [keyHash], cause) }, 'request failed')
      expect(log.text()).toContain('violates foreign key constraint')
      expect(log.text()).not.toContain(keyHash)
    })
  })

  it('left no password, token, key or secret in the log or the database', async () => {
    await app.inject({ method: 'POST', url: '/login', payload: ADMIN }) // one more login, for the log
    await app.close() // the embedded database admits one process: read it once the server is gone
    const logged = log.text()
    const tables: unknown[] = []
    for (const table of ['users', 'tokens', 'api_keys', 'audit_events']) tables.push(await backend.query(`select * from mlblocks_auth.${table}`))
    const stored = JSON.stringify(tables)
    for (const secret of secrets) {
      expect(logged.includes(secret), 'log').toBe(false)
      expect(stored.includes(secret), 'database').toBe(false)
    }
    expect(logged.length).toBeGreaterThan(1000)
    expect(stored).toContain('$argon2id$') // the dump did read the tables
  })
})
