import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, as, describeEachBackend, bearer, buildAuthServer, createBackend, createUser, issueKey, login, UNAUTHORIZED, type Backend } from './helpers.js'

const err = (statusCode: number, code: string, error_message: unknown = expect.any(String)) => ({ statusCode, code, error_message })

describeEachBackend('auth endpoints (%s database)', (backendName) => {
  let backend: Backend
  let app: FastifyInstance
  let admin: string

  beforeAll(async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend })
    admin = await login(app)
  })
  afterAll(async () => {
    await app?.close()
    await backend?.drop()
  })

  describe('POST /login', () => {
    it('answers 200 with a token, its expiration date and the user details', async () => {
      const res = await app.inject({ method: 'POST', url: '/login', payload: ADMIN })
      expect(res.statusCode).toBe(200)
      const body = res.json()
      expect(body).toEqual({
        token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
        expiration_date: expect.any(String),
        user_details: { user_id: expect.any(String), username: 'root', role: 'admin', blocks: ['*'] },
      })
      const ttl = Date.parse(body.expiration_date) - Date.now()
      expect(ttl).toBeGreaterThan(3_590_000)
      expect(ttl).toBeLessThanOrEqual(3_600_000)
    })

    it('answers 401 MLB_LOGIN_FAILED with the same body for a wrong password and an unknown user', async () => {
      const wrong = await app.inject({ method: 'POST', url: '/login', payload: { username: 'root', password: 'wrong password!' } })
      const unknown = await app.inject({ method: 'POST', url: '/login', payload: { username: 'nobody', password: 'wrong password!' } })
      expect(wrong.statusCode).toBe(401)
      expect(wrong.json()).toEqual(err(401, 'MLB_LOGIN_FAILED', 'Wrong username or password.'))
      expect(unknown.body).toBe(wrong.body)
    })

    it('answers 400 MLB_BAD_INPUT for a missing field or an unknown one such as role', async () => {
      expect((await app.inject({ method: 'POST', url: '/login', payload: { username: 'root' } })).json()).toEqual(
        err(400, 'MLB_BAD_INPUT', "body is missing the required field 'password'."),
      )
      expect((await app.inject({ method: 'POST', url: '/login', payload: { ...ADMIN, role: 'admin' } })).json()).toEqual(
        err(400, 'MLB_BAD_INPUT', "body has an unknown field 'role'. Remove it; GET /docs shows the schema."),
      )
    })
  })

  describe('GET /me and POST /logout', () => {
    it('answers /me with the user details of a token and of an API key', async () => {
      const me = await as(app, admin)({ url: '/me' })
      expect(me.statusCode).toBe(200)
      expect(me.json()).toEqual({
        user_id: expect.any(String),
        username: 'root',
        role: 'admin',
        blocks: ['*'],
        access: [
          { block: 'echo', via: ['admin', 'own'] },
          { block: 'other', via: ['admin', 'own'] },
        ],
      })
      const user = await createUser(app, admin, { username: 'me-user', blocks: ['echo'] })
      const { api_key } = await issueKey(app, admin, user.user_id)
      expect((await app.inject({ url: '/me', headers: { 'x-api-key': api_key } })).json()).toEqual({
        user_id: user.user_id,
        username: 'me-user',
        role: 'user',
        blocks: ['echo'],
        access: [{ block: 'echo', via: ['own'] }],
      })
    })

    it('answers /logout 204 and the token stops working; logging out with an API key is a 400', async () => {
      const token = await login(app)
      expect((await as(app, token)({ method: 'POST', url: '/logout' })).statusCode).toBe(204)
      expect((await as(app, token)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      const user = await createUser(app, admin, { username: 'key-logout' })
      const { api_key } = await issueKey(app, admin, user.user_id)
      expect((await as(app, api_key)({ method: 'POST', url: '/logout' })).json()).toEqual(err(400, 'MLB_BAD_REQUEST'))
    })

    it('answers 401 with one message for a missing, malformed or unknown credential', async () => {
      for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer' }, bearer('not.a.jwt'), { 'x-api-key': 'mlb_nope' }]) {
        expect((await app.inject({ url: '/me', headers })).json()).toEqual(UNAUTHORIZED)
      }
    })
  })

  describe('/admin/users', () => {
    it('creates a user: 201 with user_id, username, creation_date, role and blocks (default all)', async () => {
      const res = await as(app, admin)({ method: 'POST', url: '/admin/users', payload: { username: 'ada', password: 'ada has a long password', role: 'user' } })
      expect(res.statusCode).toBe(201)
      expect(res.json()).toEqual({ user_id: expect.any(String), username: 'ada', creation_date: expect.any(String), role: 'user', blocks: ['*'] })
    })

    it('answers 409 MLB_USERNAME_TAKEN for a duplicate username', async () => {
      await createUser(app, admin, { username: 'dup' })
      const res = await as(app, admin)({ method: 'POST', url: '/admin/users', payload: { username: 'dup', password: 'another long password', role: 'user' } })
      expect(res.json()).toEqual(err(409, 'MLB_USERNAME_TAKEN', "The username 'dup' is taken."))
    })

    it('answers 400 for a short password, a bad username, a bad role and an unknown block name', async () => {
      const post = (payload: object) => as(app, admin)({ method: 'POST', url: '/admin/users', payload: { username: 'x', password: 'long enough password', role: 'user', ...payload } })
      expect((await post({ password: 'short' })).json()).toEqual(err(400, 'MLB_BAD_INPUT', 'body.password must NOT have fewer than 12 characters.'))
      expect((await post({ username: 'has space' })).json()).toEqual(err(400, 'MLB_BAD_INPUT', expect.stringContaining('body.username')))
      expect((await post({ role: 'root' })).json()).toEqual(err(400, 'MLB_BAD_INPUT', expect.stringContaining('body.role')))
      expect((await post({ blocks: ['Bad Name'] })).json()).toEqual(err(400, 'MLB_BAD_INPUT', expect.stringContaining('body.blocks[0]')))
    })

    it('lists users without hashes', async () => {
      const res = await as(app, admin)({ url: '/admin/users' })
      expect(res.statusCode).toBe(200)
      expect(res.json()[0]).toEqual({ user_id: expect.any(String), username: 'root', creation_date: expect.any(String), role: 'admin', blocks: ['*'], disabled: false })
      expect(res.body).not.toContain('argon2')
    })

    it('reads, changes and deletes one user; 404 for an unknown id, 400 for a malformed one', async () => {
      const { user_id } = await createUser(app, admin, { username: 'bob' })
      expect((await as(app, admin)({ url: `/admin/users/${user_id}` })).json()).toMatchObject({ username: 'bob', role: 'user' })
      const patched = await as(app, admin)({ method: 'PATCH', url: `/admin/users/${user_id}`, payload: { blocks: ['echo'], disabled: true } })
      expect(patched.statusCode).toBe(200)
      expect(patched.json()).toMatchObject({ blocks: ['echo'], disabled: true })
      expect((await as(app, admin)({ method: 'PATCH', url: `/admin/users/${user_id}`, payload: {} })).json()).toEqual(err(400, 'MLB_BAD_INPUT'))
      expect((await as(app, admin)({ method: 'DELETE', url: `/admin/users/${user_id}` })).statusCode).toBe(204)
      const missing = await as(app, admin)({ url: `/admin/users/${user_id}` })
      expect(missing.json()).toEqual(err(404, 'MLB_USER_NOT_FOUND', `No user with id '${user_id}'.`))
      expect((await as(app, admin)({ method: 'DELETE', url: `/admin/users/${user_id}` })).statusCode).toBe(404)
      expect((await as(app, admin)({ method: 'PATCH', url: `/admin/users/${user_id}`, payload: { disabled: false } })).statusCode).toBe(404)
      expect((await as(app, admin)({ url: '/admin/users/not-a-uuid' })).json()).toEqual(err(400, 'MLB_BAD_INPUT', expect.stringContaining('params.id')))
    })

    it('answers 403 to a user and 401 to nobody on every admin route', async () => {
      const { user_id } = await createUser(app, admin, { username: 'plain' })
      const token = await login(app, 'plain', 'a long enough password')
      const routes: Array<[string, string]> = [
        ['POST', '/admin/users'], ['GET', '/admin/users'], ['GET', `/admin/users/${user_id}`], ['PATCH', `/admin/users/${user_id}`],
        ['DELETE', `/admin/users/${user_id}`], ['POST', '/admin/apikeys'], ['GET', '/admin/apikeys'], ['DELETE', `/admin/apikeys/${user_id}`],
      ]
      for (const [method, url] of routes) {
        const payload = method === 'POST' || method === 'PATCH' ? { role: 'admin' } : undefined
        expect((await as(app, token)({ method: method as 'GET', url, ...(payload ? { payload } : {}) })).json()).toEqual(
          err(403, 'MLB_ADMIN_ONLY', 'This route is for admins only.'),
        )
        expect((await app.inject({ method: method as 'GET', url })).json()).toEqual(UNAUTHORIZED)
      }
      expect((await as(app, admin)({ url: `/admin/users/${user_id}` })).json().role).toBe('user')
    })
  })

  describe('/admin/apikeys', () => {
    it('issues a key shown once (mlb_ + 30 random base62 + 6 of their CRC32: the scanners’ pattern mlb_[0-9A-Za-z]{36}), lists prefixes only, revokes it', async () => {
      const { user_id } = await createUser(app, admin, { username: 'keyed' })
      const res = await as(app, admin)({ method: 'POST', url: '/admin/apikeys', payload: { user_id } })
      expect(res.statusCode).toBe(201)
      const created = res.json()
      expect(created).toEqual({ api_key: expect.stringMatching(/^mlb_[0-9A-Za-z]{36}$/), key_id: expect.any(String), user_id, expiration_date: null, name: null, blocks: null })
      const list = await as(app, admin)({ url: `/admin/apikeys?user_id=${user_id}` })
      expect(list.json()).toEqual([
        {
          key_id: created.key_id,
          user_id,
          name: null,
          prefix: created.api_key.slice(0, 12),
          blocks: null,
          expiration_date: null,
          created_at: expect.any(String),
          revoked_at: null,
          last_used_at: null,
          issued_by: { user_id: expect.any(String), username: 'root' },
          rotated_at: null,
          previous_prefix: null,
          previous_valid_until: null,
        },
      ])
      expect(list.body).not.toContain(created.api_key)
      expect((await as(app, admin)({ url: '/admin/apikeys' })).json().length).toBeGreaterThanOrEqual(1)
      expect((await app.inject({ url: '/me', headers: { 'x-api-key': created.api_key } })).statusCode).toBe(200)
      expect((await as(app, admin)({ method: 'DELETE', url: `/admin/apikeys/${created.key_id}` })).statusCode).toBe(204)
      expect((await app.inject({ url: '/me', headers: { 'x-api-key': created.api_key } })).json()).toEqual(UNAUTHORIZED)
      const revoked = (await as(app, admin)({ url: `/admin/apikeys?user_id=${user_id}` })).json()[0]
      expect(revoked.revoked_at).toEqual(expect.any(String))
      expect(revoked.last_used_at).toEqual(expect.any(String))
    })

    it('answers 400 for a past expiration date, 404 for an unknown user or key', async () => {
      const { user_id } = await createUser(app, admin, { username: 'expiring' })
      const past = await as(app, admin)({ method: 'POST', url: '/admin/apikeys', payload: { user_id, expiration_date: '2020-01-01T00:00:00Z' } })
      expect(past.json()).toEqual(err(400, 'MLB_BAD_INPUT', 'body.expiration_date must lie in the future.'))
      const ghost = '00000000-0000-4000-8000-000000000000'
      expect((await as(app, admin)({ method: 'POST', url: '/admin/apikeys', payload: { user_id: ghost } })).json()).toEqual(err(404, 'MLB_USER_NOT_FOUND'))
      expect((await as(app, admin)({ method: 'DELETE', url: `/admin/apikeys/${ghost}` })).json()).toEqual(
        err(404, 'MLB_API_KEY_NOT_FOUND', `No API key with id '${ghost}'.`),
      )
    })

    it('never takes a key from the query string', async () => {
      const { user_id } = await createUser(app, admin, { username: 'query' })
      const { api_key } = await issueKey(app, admin, user_id)
      for (const name of ['api_key', 'apikey', 'token', 'access_token', 'key']) {
        expect((await app.inject({ url: `/me?${name}=${api_key}` })).json()).toEqual(UNAUTHORIZED)
      }
    })
  })

  it('keeps /healthz, /readyz, /login and the docs open, and documents the security of protected routes', async () => {
    for (const url of ['/healthz', '/readyz', '/docs/json']) expect((await app.inject(url)).statusCode).toBe(200)
    const doc = (await app.inject('/docs/json')).json()
    expect(doc.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      apiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
    })
    const predict = doc.paths['/blocks/echo/predict'].post
    expect(predict.security).toEqual([{ bearer: [] }, { apiKey: [] }])
    expect(Object.keys(predict.responses)).toEqual(expect.arrayContaining(['401', '403']))
    expect(doc.paths['/admin/users'].get.security).toEqual([{ bearer: [] }, { apiKey: [] }])
    expect(doc.paths['/login'].post.security).toBeUndefined()
    expect(Object.keys(doc.paths['/login'].post.responses)).toEqual(expect.arrayContaining(['401', '429']))
    expect(doc.paths['/healthz'].get.security).toBeUndefined()
  })
})
