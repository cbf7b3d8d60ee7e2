import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, as, buildAuthServer, createBackend, createUser, describeEachBackend, login, UNAUTHORIZED, type Backend } from './helpers.js'

// Issue 20: scoped, self-service and rotatable keys; service accounts; a user's own password.

const PASSWORD = 'a long enough password'
const err = (statusCode: number, code: string, error_message: unknown = expect.any(String)) => ({ statusCode, code, error_message })
const predict = (block: string) => ({ method: 'POST' as const, url: `/blocks/${block}/predict`, payload: { text: 'x' } })
const names = (res: { json(): unknown }) => (res.json() as Array<{ name: string }>).map((b) => b.name)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls until `check` holds (a deadline, not a measured time: the assertion is on what `check` sees). */
async function eventually(ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`)
    await sleep(50)
  }
}

describeEachBackend('API keys: scope, self-service, rotation; service accounts; own password (%s database)', (backendName) => {
  let backend: Backend
  let app: FastifyInstance
  let admin: string

  beforeAll(async () => {
    backend = await createBackend(backendName)
    app = await buildAuthServer({ backend, options: { maxKeyTtl: '30d' } })
    admin = await login(app)
  })
  afterAll(async () => {
    await app?.close()
    await backend?.drop()
  })

  const issue = async (body: Record<string, unknown>, credential = admin) => {
    const res = await as(app, credential)({ method: 'POST', url: '/admin/apikeys', payload: body })
    expect(res.statusCode, res.body).toBe(201)
    return res.json() as { api_key: string; key_id: string; user_id: string; name: string | null; blocks: string[] | null; expiration_date: string | null }
  }
  const listOf = async (credential: string, url = '/me/apikeys') => (await as(app, credential)({ url })).json() as Array<Record<string, unknown>>

  describe('scoped keys', () => {
    it("a key's rights are its blocks intersected with its owner's, at request time", async () => {
      const user = await createUser(app, admin, { username: 'scoped-owner', blocks: ['echo', 'other'] })
      const key = await issue({ user_id: user.user_id, name: 'ci', blocks: ['echo'] })
      expect(key).toMatchObject({ key_id: expect.any(String), user_id: user.user_id, name: 'ci', blocks: ['echo'], expiration_date: null })
      const call = as(app, key.api_key)
      expect((await call(predict('echo'))).statusCode).toBe(200)
      expect((await call(predict('other'))).json()).toEqual(
        err(403, 'MLB_BLOCK_NOT_GRANTED', "This API key's scope excludes the block 'other': the key may call only the blocks it was issued for. Use a key whose scope includes it, or issue one."),
      )
      expect((await call({ url: '/blocks/other' })).statusCode).toBe(403)
      expect(names(await call({ url: '/blocks' }))).toEqual(['echo'])
      // GET /me with the key says what the key may call, not what its owner may.
      expect((await call({ url: '/me' })).json().access).toEqual([{ block: 'echo', via: ['own'] }])
      // An unscoped key of the same owner reaches both.
      const wide = await issue({ user_id: user.user_id })
      expect(names(await as(app, wide.api_key)({ url: '/blocks' }))).toEqual(['echo', 'other'])
      // Taking the grant from the owner shrinks the scoped key at once (the cached entry is dropped).
      await as(app, admin)({ method: 'PATCH', url: `/admin/users/${user.user_id}`, payload: { blocks: ['other'] } })
      expect((await call(predict('echo'))).json()).toMatchObject({ statusCode: 403, error_message: expect.stringContaining("'echo'") })
      expect(names(await call({ url: '/blocks' }))).toEqual([])
      expect(names(await as(app, wide.api_key)({ url: '/blocks' }))).toEqual(['other'])
      // A scope naming a block the owner lacks gives nothing until the owner gets it.
      await as(app, admin)({ method: 'PATCH', url: `/admin/users/${user.user_id}`, payload: { blocks: ['*'] } })
      expect((await call(predict('echo'))).statusCode).toBe(200)
      expect((await call(predict('other'))).statusCode).toBe(403)
    })

    it("an admin's scoped key calls only its blocks and is refused on every admin route", async () => {
      const me = (await as(app, admin)({ url: '/me' })).json() as { user_id: string }
      const key = await issue({ user_id: me.user_id, blocks: ['echo'] })
      const call = as(app, key.api_key)
      expect((await call(predict('echo'))).statusCode).toBe(200)
      expect((await call(predict('other'))).json()).toMatchObject({ statusCode: 403, code: 'MLB_BLOCK_NOT_GRANTED' })
      expect(names(await call({ url: '/blocks' }))).toEqual(['echo'])
      expect((await call({ url: '/me' })).json().access).toEqual([{ block: 'echo', via: ['admin', 'own'] }]) // root also holds ['*']
      for (const url of ['/admin/users', '/admin/apikeys', '/admin/audit']) {
        expect((await call({ url })).json(), url).toEqual(
          err(403, 'MLB_ADMIN_ONLY', 'This API key is scoped to some blocks, so it cannot use admin routes: use a login token, or an API key issued without blocks.'),
        )
      }
      // ["*"] is the owner's every block: an admin's such key is an admin credential.
      const all = await issue({ user_id: me.user_id, blocks: ['*'] })
      expect(all.blocks).toBeNull()
      expect((await as(app, all.api_key)({ url: '/admin/users' })).statusCode).toBe(200)
    })

    it('refuses bad scopes and names with a 400 naming the field', async () => {
      const user = await createUser(app, admin, { username: 'bad-scope' })
      for (const payload of [{ blocks: [] }, { blocks: ['Not A Block'] }, { name: '' }, { name: 'x'.repeat(65) }, { name: 'tab\there' }, { name: 'nul\u0000' }]) {
        const res = await as(app, admin)({ method: 'POST', url: '/admin/apikeys', payload: { user_id: user.user_id, ...payload } })
        expect(res.json(), JSON.stringify(payload)).toMatchObject({ statusCode: 400, code: 'MLB_BAD_INPUT', error_message: expect.stringMatching(/body\.(blocks|name)/) })
      }
    })

    it('listings show name, prefix, scope, dates and who issued the key, never the key', async () => {
      const user = await createUser(app, admin, { username: 'listed', blocks: ['echo'] })
      const key = await issue({ user_id: user.user_id, name: 'grafana', blocks: ['echo', 'echo'] })
      const [row] = await listOf(admin, `/admin/apikeys?user_id=${user.user_id}`)
      expect(row).toEqual({
        key_id: key.key_id,
        user_id: user.user_id,
        name: 'grafana',
        prefix: key.api_key.slice(0, 12),
        blocks: ['echo'],
        expiration_date: null,
        created_at: expect.any(String),
        revoked_at: null,
        last_used_at: null,
        issued_by: { user_id: expect.any(String), username: ADMIN.username },
        rotated_at: null,
        previous_prefix: null,
        previous_valid_until: null,
      })
      expect(JSON.stringify(row)).not.toContain(key.api_key)
    })
  })

  describe('self-service keys', () => {
    let user: { user_id: string }
    let token: string
    beforeAll(async () => {
      user = await createUser(app, admin, { username: 'self', blocks: ['echo'] })
      token = await login(app, 'self', PASSWORD)
    })

    it('a user issues, lists and revokes their own keys, within their own rights', async () => {
      const created = await as(app, token)({ method: 'POST', url: '/me/apikeys', payload: { name: 'laptop', blocks: ['echo'] } })
      expect(created.statusCode).toBe(201)
      const key = created.json() as { api_key: string; key_id: string; expiration_date: string }
      // AUTH_MAX_KEY_TTL=30d: without a date, the key gets the latest one allowed.
      const ttl = Date.parse(key.expiration_date) - Date.now()
      expect(ttl).toBeGreaterThan(29 * 86_400_000)
      expect(ttl).toBeLessThanOrEqual(30 * 86_400_000)
      expect((await as(app, key.api_key)(predict('echo'))).statusCode).toBe(200)
      expect((await as(app, token)({ method: 'POST', url: '/me/apikeys', payload: { blocks: ['echo', 'other'] } })).json()).toEqual(
        err(403, 'MLB_BLOCK_NOT_GRANTED', "You may not call the block 'other', so no key of yours can be scoped to it. Leave it out, or ask an admin to grant it to you."),
      )
      const listed = await listOf(token)
      expect(listed.map((k) => k.key_id)).toEqual([key.key_id])
      expect(listed[0]).toMatchObject({ name: 'laptop', blocks: ['echo'], issued_by: { user_id: user.user_id, username: 'self' } })
      expect((await as(app, token)({ method: 'DELETE', url: `/me/apikeys/${key.key_id}` })).statusCode).toBe(204)
      expect((await as(app, key.api_key)(predict('echo'))).json()).toEqual(UNAUTHORIZED)
    })

    it('keeps expiry within AUTH_MAX_KEY_TTL, and in the future', async () => {
      const late = new Date(Date.now() + 31 * 86_400_000).toISOString()
      expect((await as(app, token)({ method: 'POST', url: '/me/apikeys', payload: { expiration_date: late } })).json()).toMatchObject({
        statusCode: 400,
        code: 'MLB_BAD_INPUT',
        error_message: expect.stringMatching(/^body\.expiration_date is later than this server allows for your own keys \(AUTH_MAX_KEY_TTL is 2592000 seconds\)/),
      })
      const past = new Date(Date.now() - 1000).toISOString()
      expect((await as(app, token)({ method: 'POST', url: '/me/apikeys', payload: { expiration_date: past } })).json()).toMatchObject({ statusCode: 400 })
      // Admins are not bound by it.
      expect((await as(app, admin)({ method: 'POST', url: '/admin/apikeys', payload: { user_id: user.user_id, expiration_date: late } })).statusCode).toBe(201)
    })

    it("another user's key id is a 404, as an unknown one is, and nothing changes", async () => {
      const stranger = await createUser(app, admin, { username: 'stranger' })
      const theirs = await issue({ user_id: stranger.user_id })
      const unknown = '00000000-0000-4000-8000-000000000000'
      for (const [method, suffix] of [['DELETE', ''], ['POST', '/rotate']] as const) {
        const res = await as(app, token)({ method, url: `/me/apikeys/${theirs.key_id}${suffix}` })
        expect(res.json()).toEqual(err(404, 'MLB_API_KEY_NOT_FOUND', `No API key with id '${theirs.key_id}'.`))
        expect((await as(app, token)({ method, url: `/me/apikeys/${unknown}${suffix}` })).json()).toEqual(err(404, 'MLB_API_KEY_NOT_FOUND', `No API key with id '${unknown}'.`))
      }
      expect((await as(app, theirs.api_key)({ url: '/me' })).statusCode).toBe(200)
      expect((await listOf(token)).map((k) => k.key_id)).not.toContain(theirs.key_id)
    })

    it('needs a login token: an API key cannot mint, list, rotate or revoke keys, or change the password', async () => {
      const key = await issue({ user_id: user.user_id })
      const forbidden = err(403, 'MLB_TOKEN_REQUIRED', 'Managing your API keys and your password needs a login token (POST /login): an API key cannot do it.')
      expect((await as(app, key.api_key)({ method: 'POST', url: '/me/apikeys', payload: {} })).json()).toEqual(forbidden)
      expect((await as(app, key.api_key)({ url: '/me/apikeys' })).json()).toEqual(forbidden)
      expect((await as(app, key.api_key)({ method: 'POST', url: `/me/apikeys/${key.key_id}/rotate` })).json()).toEqual(forbidden)
      expect((await as(app, key.api_key)({ method: 'DELETE', url: `/me/apikeys/${key.key_id}` })).json()).toEqual(forbidden)
      expect((await as(app, key.api_key)({ method: 'POST', url: '/me/password', payload: { current_password: PASSWORD, new_password: 'another long password' } })).json()).toEqual(forbidden)
      expect((await as(app, key.api_key)({ url: '/me' })).statusCode).toBe(200)
    })

    it('holds at most 100 live keys per user, even when 110 requests race', async () => {
      const racer = await createUser(app, admin, { username: 'racer' })
      const racerToken = await login(app, 'racer', PASSWORD)
      const statuses = await Promise.all(Array.from({ length: 110 }, () => as(app, racerToken)({ method: 'POST', url: '/me/apikeys', payload: {} }).then((r) => r.statusCode)))
      expect(statuses.filter((s) => s === 201)).toHaveLength(100)
      expect(statuses.filter((s) => s === 409)).toHaveLength(10)
      const rows = await listOf(racerToken)
      expect(rows).toHaveLength(100)
      const refused = await as(app, racerToken)({ method: 'POST', url: '/me/apikeys', payload: {} })
      expect(refused.json()).toMatchObject({ statusCode: 409, code: 'MLB_TOO_MANY_KEYS' })
      // One revoked makes room for one.
      await as(app, racerToken)({ method: 'DELETE', url: `/me/apikeys/${rows[0]!.key_id as string}` })
      expect((await as(app, racerToken)({ method: 'POST', url: '/me/apikeys', payload: {} })).statusCode).toBe(201)
      expect(racer.user_id).toBeTruthy()
    }, 120_000)
  })

  describe('rotation', () => {
    it('grace 0: a new secret under the same key id, the old one stops at once; both steps audited', async () => {
      const user = await createUser(app, admin, { username: 'rotor' })
      const key = await issue({ user_id: user.user_id, name: 'svc', blocks: ['echo'] })
      expect((await as(app, key.api_key)(predict('echo'))).statusCode).toBe(200) // cached now
      const res = await as(app, admin)({ method: 'POST', url: `/admin/apikeys/${key.key_id}/rotate` })
      expect(res.statusCode).toBe(200)
      const rotated = res.json() as { api_key: string; key_id: string }
      expect(rotated).toEqual({ api_key: expect.stringMatching(/^mlb_[0-9A-Za-z]{36}$/), key_id: key.key_id, user_id: user.user_id, expiration_date: null, previous_valid_until: null })
      expect(rotated.api_key).not.toBe(key.api_key)
      expect((await as(app, key.api_key)(predict('echo'))).json()).toEqual(UNAUTHORIZED)
      expect((await as(app, rotated.api_key)(predict('echo'))).statusCode).toBe(200)
      // Scope and name survive rotation.
      expect((await as(app, rotated.api_key)(predict('other'))).statusCode).toBe(403)
      const [row] = await listOf(admin, `/admin/apikeys?user_id=${user.user_id}`)
      expect(row).toMatchObject({ key_id: key.key_id, name: 'svc', blocks: ['echo'], prefix: rotated.api_key.slice(0, 12), rotated_at: expect.any(String), previous_prefix: null })
      const targets = async (action: string) => ((await as(app, admin)({ url: `/admin/audit?action=${action}` })).json() as Array<{ target: string }>).map((e) => e.target)
      await eventually(5000, async () => (await targets('api_key.rotated')).includes(key.key_id) && (await targets('api_key.grace_ended')).includes(key.key_id))
    })

    it('with a grace, both secrets work until it ends, the old one says when it stops; then only the new one', async () => {
      const user = await createUser(app, admin, { username: 'graceful' })
      const token = await login(app, 'graceful', PASSWORD)
      const key = (await as(app, token)({ method: 'POST', url: '/me/apikeys', payload: { name: 'deploy' } })).json() as { api_key: string; key_id: string }
      const res = await as(app, token)({ method: 'POST', url: `/me/apikeys/${key.key_id}/rotate`, payload: { grace_seconds: 2 } })
      expect(res.statusCode).toBe(200)
      const rotated = res.json() as { api_key: string; previous_valid_until: string }
      const graceEnd = Date.parse(rotated.previous_valid_until)
      expect(graceEnd).toBeGreaterThan(Date.now())
      const old = await as(app, key.api_key)({ url: '/me' })
      expect(old.statusCode).toBe(200)
      expect(old.headers['mlblocks-key-expires']).toBe(rotated.previous_valid_until)
      expect((await as(app, rotated.api_key)({ url: '/me' })).statusCode).toBe(200)
      const [row] = await listOf(token)
      expect(row).toMatchObject({ previous_prefix: key.api_key.slice(0, 12), previous_valid_until: rotated.previous_valid_until })
      // After the grace: the old secret is refused (though it was cached), the new one goes on.
      await sleep(Math.max(0, graceEnd - Date.now()) + 100)
      expect((await as(app, key.api_key)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      expect((await as(app, rotated.api_key)({ url: '/me' })).statusCode).toBe(200)
      // The old secret is cleared from the row and the end of the grace audited.
      await eventually(5000, async () => ((await listOf(token))[0]!.previous_prefix as string | null) === null)
      const events = (await as(app, admin)({ url: `/admin/audit?action=api_key.grace_ended` })).json() as Array<{ target: string }>
      expect(events.map((e) => e.target)).toContain(key.key_id)
      expect(user.user_id).toBeTruthy()
    })

    it('rotating again ends the earlier grace at once', async () => {
      const user = await createUser(app, admin, { username: 'twice' })
      const key = await issue({ user_id: user.user_id })
      const first = (await as(app, admin)({ method: 'POST', url: `/admin/apikeys/${key.key_id}/rotate`, payload: { grace_seconds: 3600 } })).json() as { api_key: string }
      expect((await as(app, key.api_key)({ url: '/me' })).statusCode).toBe(200)
      const second = (await as(app, admin)({ method: 'POST', url: `/admin/apikeys/${key.key_id}/rotate`, payload: { grace_seconds: 3600 } })).json() as { api_key: string }
      expect((await as(app, key.api_key)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      expect((await as(app, first.api_key)({ url: '/me' })).statusCode).toBe(200)
      expect((await as(app, second.api_key)({ url: '/me' })).statusCode).toBe(200)
      // Revoking the key ends every secret of it, the one in its grace included.
      await as(app, admin)({ method: 'DELETE', url: `/admin/apikeys/${key.key_id}` })
      for (const secret of [first.api_key, second.api_key]) expect((await as(app, secret)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
    })

    it('refuses a grace outside 0..86400, and a revoked or unknown key', async () => {
      const user = await createUser(app, admin, { username: 'rot-bad' })
      const key = await issue({ user_id: user.user_id })
      for (const grace_seconds of [-1, 86_401, 1.5, '60']) {
        const res = await as(app, admin)({ method: 'POST', url: `/admin/apikeys/${key.key_id}/rotate`, payload: { grace_seconds } })
        expect(res.json(), String(grace_seconds)).toMatchObject({ statusCode: 400, code: 'MLB_BAD_INPUT', error_message: expect.stringContaining('grace_seconds') })
      }
      expect((await as(app, key.api_key)({ url: '/me' })).statusCode).toBe(200) // nothing rotated
      await as(app, admin)({ method: 'DELETE', url: `/admin/apikeys/${key.key_id}` })
      expect((await as(app, admin)({ method: 'POST', url: `/admin/apikeys/${key.key_id}/rotate` })).json()).toEqual(
        err(409, 'MLB_API_KEY_NOT_LIVE', `The API key '${key.key_id}' is revoked, so it cannot be rotated: issue a new key instead.`),
      )
      const unknown = '00000000-0000-4000-8000-000000000000'
      expect((await as(app, admin)({ method: 'POST', url: `/admin/apikeys/${unknown}/rotate` })).json()).toMatchObject({ statusCode: 404 })
    })
  })

  describe('the expiry warning header', () => {
    it('is on requests made with a key expiring within seven days, and on no other', async () => {
      const user = await createUser(app, admin, { username: 'soon' })
      const soonDate = new Date(Date.now() + 3 * 86_400_000).toISOString()
      const soon = await issue({ user_id: user.user_id, expiration_date: soonDate })
      const later = await issue({ user_id: user.user_id, expiration_date: new Date(Date.now() + 8 * 86_400_000).toISOString() })
      const never = await issue({ user_id: user.user_id })
      expect((await as(app, soon.api_key)(predict('echo'))).headers['mlblocks-key-expires']).toBe(soonDate)
      expect((await as(app, soon.api_key)({ url: '/me' })).headers['mlblocks-key-expires']).toBe(soonDate) // cached: the same
      for (const key of [later, never]) expect((await as(app, key.api_key)(predict('echo'))).headers['mlblocks-key-expires']).toBeUndefined()
      expect((await as(app, await login(app, 'soon', PASSWORD))({ url: '/me' })).headers['mlblocks-key-expires']).toBeUndefined()
    })
  })

  describe('service accounts', () => {
    it('have no password, never log in, hold keys that outlive their issuer, and lose them when deleted', async () => {
      expect((await as(app, admin)({ method: 'POST', url: '/admin/users', payload: { username: 'bot', role: 'service', password: PASSWORD } })).json()).toMatchObject({
        statusCode: 400,
        error_message: expect.stringContaining('a service account has no password'),
      })
      expect((await as(app, admin)({ method: 'POST', url: '/admin/users', payload: { username: 'nopass', role: 'user' } })).json()).toMatchObject({
        statusCode: 400,
        error_message: "body.password is required for role 'user' (only role 'service' has none).",
      })
      const created = await as(app, admin)({ method: 'POST', url: '/admin/users', payload: { username: 'bot', role: 'service', blocks: ['echo'] } })
      expect(created.statusCode).toBe(201)
      const bot = created.json() as { user_id: string; role: string }
      expect(bot.role).toBe('service')
      // Refused at /login like a wrong password: same answer, whatever is typed.
      const wrongPassword = await app.inject({ method: 'POST', url: '/login', payload: { username: 'root', password: 'not the password!' } })
      for (const password of ['', 'x', PASSWORD]) {
        const res = await app.inject({ method: 'POST', url: '/login', payload: { username: 'bot', password: password || 'x' } })
        expect(res.statusCode).toBe(401)
        expect(res.body).toBe(wrongPassword.body)
      }
      // A second admin issues its key, then leaves: the key goes on working.
      await createUser(app, admin, { username: 'ops-admin', role: 'admin' })
      const opsAdmin = await login(app, 'ops-admin', PASSWORD)
      const key = await issue({ user_id: bot.user_id, name: 'scraper' }, opsAdmin)
      const opsId = ((await as(app, opsAdmin)({ url: '/me' })).json() as { user_id: string }).user_id
      expect((await as(app, admin)({ method: 'DELETE', url: `/admin/users/${opsId}` })).statusCode).toBe(204)
      expect((await as(app, key.api_key)(predict('echo'))).statusCode).toBe(200)
      expect((await as(app, key.api_key)(predict('other'))).statusCode).toBe(403)
      const [row] = await listOf(admin, `/admin/apikeys?user_id=${bot.user_id}`)
      expect(row!.issued_by).toEqual({ user_id: opsId, username: 'ops-admin' })
      // A service account cannot get a password, nor become a person (or a person a service account).
      for (const payload of [{ password: PASSWORD }, { role: 'user' }]) {
        expect((await as(app, admin)({ method: 'PATCH', url: `/admin/users/${bot.user_id}`, payload })).json(), JSON.stringify(payload)).toMatchObject({ statusCode: 400, code: 'MLB_BAD_INPUT' })
      }
      const person = await createUser(app, admin, { username: 'person' })
      expect((await as(app, admin)({ method: 'PATCH', url: `/admin/users/${person.user_id}`, payload: { role: 'service' } })).json()).toMatchObject({ statusCode: 400 })
      expect((await as(app, key.api_key)(predict('echo'))).statusCode).toBe(200) // nothing changed
      // Deleting the account revokes its keys.
      expect((await as(app, admin)({ method: 'DELETE', url: `/admin/users/${bot.user_id}` })).statusCode).toBe(204)
      expect((await as(app, key.api_key)(predict('echo'))).json()).toEqual(UNAUTHORIZED)
    })
  })

  describe('POST /me/password', () => {
    it('answers a fresh token and revokes every token issued before it; keys stay', async () => {
      await createUser(app, admin, { username: 'changer', blocks: ['echo'] })
      const first = await login(app, 'changer', PASSWORD)
      const second = await login(app, 'changer', PASSWORD)
      const key = (await as(app, first)({ method: 'POST', url: '/me/apikeys', payload: {} })).json() as { api_key: string }
      const res = await as(app, first)({ method: 'POST', url: '/me/password', payload: { current_password: PASSWORD, new_password: 'a brand new long password' } })
      expect(res.statusCode).toBe(200)
      const body = res.json() as { token: string; expiration_date: string; user_details: Record<string, unknown> }
      expect(body).toEqual({ token: expect.any(String), expiration_date: expect.any(String), user_details: { user_id: expect.any(String), username: 'changer', role: 'user', blocks: ['echo'] } })
      for (const old of [first, second]) expect((await as(app, old)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      expect((await as(app, body.token)({ url: '/me' })).statusCode).toBe(200)
      expect((await as(app, key.api_key)(predict('echo'))).statusCode).toBe(200)
      expect((await app.inject({ method: 'POST', url: '/login', payload: { username: 'changer', password: PASSWORD } })).statusCode).toBe(401)
      expect((await app.inject({ method: 'POST', url: '/login', payload: { username: 'changer', password: 'a brand new long password' } })).statusCode).toBe(200)
    })

    it('refuses a wrong current password (nothing changes), a weak or unchanged new one, and counts wrong guesses like logins', async () => {
      await createUser(app, admin, { username: 'guesser' })
      const token = await login(app, 'guesser', PASSWORD)
      const wrong = await as(app, token)({ method: 'POST', url: '/me/password', payload: { current_password: 'not my password', new_password: 'another long password' } })
      expect(wrong.json()).toEqual(err(403, 'MLB_WRONG_PASSWORD', 'body.current_password is not your current password: nothing was changed.'))
      expect((await as(app, token)({ url: '/me' })).statusCode).toBe(200)
      expect((await as(app, token)({ method: 'POST', url: '/me/password', payload: { current_password: PASSWORD, new_password: 'short' } })).json()).toMatchObject({ statusCode: 400 })
      expect((await as(app, token)({ method: 'POST', url: '/me/password', payload: { current_password: PASSWORD, new_password: PASSWORD } })).json()).toEqual(
        err(400, 'MLB_BAD_INPUT', 'body.new_password is your current password: choose a new one.'),
      )
      // The per-username back-off of /login (5 free failures) applies: a stolen token cannot guess fast.
      const statuses: number[] = []
      for (let i = 0; i < 6; i++) {
        statuses.push((await as(app, token)({ method: 'POST', url: '/me/password', payload: { current_password: `guess number ${i}`, new_password: 'another long password' } })).statusCode)
      }
      expect(statuses).toContain(429)
      expect((await app.inject({ method: 'POST', url: '/login', payload: { username: 'guesser', password: PASSWORD } })).statusCode).toBe(429)
    })
  })
})

describe('AUTH_SELF_SERVICE_KEYS=false', () => {
  let backend: Backend
  let app: FastifyInstance
  beforeAll(async () => {
    backend = await createBackend('embedded')
    app = await buildAuthServer({ backend, env: { AUTH_SELF_SERVICE_KEYS: 'false' } })
  })
  afterAll(async () => {
    await app?.close()
    await backend?.drop()
  })

  it('turns /me/apikeys off (403 naming the setting); admins still issue keys, and /me/password works', async () => {
    const admin = await login(app)
    const user = await createUser(app, admin, { username: 'offuser' })
    const token = await login(app, 'offuser', PASSWORD)
    const off = err(403, 'MLB_SELF_SERVICE_OFF', 'Self-service API keys are turned off on this server (AUTH_SELF_SERVICE_KEYS=false): ask an admin to issue or revoke your key.')
    const key = (await as(app, admin)({ method: 'POST', url: '/admin/apikeys', payload: { user_id: user.user_id } })).json() as { key_id: string }
    for (const [method, url] of [['GET', '/me/apikeys'], ['POST', '/me/apikeys'], ['DELETE', `/me/apikeys/${key.key_id}`], ['POST', `/me/apikeys/${key.key_id}/rotate`]] as const) {
      expect((await as(app, token)({ method, url, ...(method === 'POST' ? { payload: {} } : {}) })).json(), `${method} ${url}`).toEqual(off)
    }
    expect((await as(app, token)({ method: 'POST', url: '/me/password', payload: { current_password: PASSWORD, new_password: 'another long password' } })).statusCode).toBe(200)
  })

  it('refuses a value that is not a boolean at start-up, naming it', async () => {
    const failure = (await buildAuthServer({ backend, env: { AUTH_SELF_SERVICE_KEYS: 'maybe' } }).catch((e: Error) => e)) as Error
    expect(failure.message).toMatch(/AUTH_SELF_SERVICE_KEYS must be true or false .*AUTH_ENABLED=false/)
    const ttl = (await buildAuthServer({ backend, env: { AUTH_MAX_KEY_TTL: 'forever' } }).catch((e: Error) => e)) as Error
    expect(ttl.message).toMatch(/AUTH_MAX_KEY_TTL must be a duration .*AUTH_ENABLED=false/)
  })
})

describe('the OpenAPI document shows every route of issue 20', () => {
  let backend: Backend
  let app: FastifyInstance
  beforeAll(async () => {
    backend = await createBackend('embedded')
    app = await buildAuthServer({ backend })
  })
  afterAll(async () => {
    await app?.close()
    await backend?.drop()
  })

  it('with an operationId, a summary, both security schemes and a schema for each status', async () => {
    type Operation = { operationId?: string; summary?: string; security?: unknown; responses: Record<string, unknown> }
    const doc = (await app.inject('/docs/json')).json() as { paths: Record<string, Record<string, Operation>> }
    const routes: Array<[string, string, string, string[]]> = [
      ['post', '/admin/apikeys', 'issue_api_key', ['201', '400', '401', '403', '404', '503']],
      ['get', '/admin/apikeys', 'list_api_keys', ['200', '400', '401', '403', '503']],
      ['delete', '/admin/apikeys/{id}', 'revoke_api_key', ['204', '400', '401', '403', '404', '503']],
      ['post', '/admin/apikeys/{id}/rotate', 'rotate_api_key', ['200', '400', '401', '403', '404', '409', '503']],
      ['get', '/me/apikeys', 'list_own_api_keys', ['200', '401', '403', '503']],
      ['post', '/me/apikeys', 'create_own_api_key', ['201', '400', '401', '403', '404', '409', '503']],
      ['delete', '/me/apikeys/{id}', 'revoke_own_api_key', ['204', '400', '401', '403', '404', '503']],
      ['post', '/me/apikeys/{id}/rotate', 'rotate_own_api_key', ['200', '400', '401', '403', '404', '409', '503']],
      ['post', '/me/password', 'change_own_password', ['200', '400', '401', '403', '429', '503']],
    ]
    for (const [method, path, operationId, statuses] of routes) {
      const op = doc.paths[path]?.[method]
      expect(op, `${method} ${path}`).toBeDefined()
      expect(op!.operationId).toBe(operationId)
      expect(op!.summary).toEqual(expect.any(String))
      expect(op!.security).toEqual([{ bearer: [] }, { apiKey: [] }])
      expect(Object.keys(op!.responses).sort(), `${method} ${path}`).toEqual([...statuses].sort())
    }
  })
})
