import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { as, buildAuthServer, createBackend, createUser, describeEachBackend, issueKey, login, type Backend } from './helpers.js'
import { needs } from '../../../test-support/services.js'

// Issue 21: groups with block grants, explained access (GET /me, POST /admin/access/check).

const err = (statusCode: number, code: string, error_message: unknown = expect.any(String)) => ({ statusCode, code, error_message })
const NOT_GRANTED = (block: string) => err(403, 'MLB_BLOCK_NOT_GRANTED', `You may not call the block '${block}'. Ask an admin to grant it to you.`)
const NO_GROUP = '00000000-0000-4000-8000-000000000000'

describeEachBackend('groups (%s database)', (backendName) => {
  let backend: Backend
  let app: FastifyInstance
  let admin: string
  const call = (credential: string, block: string) => as(app, credential)({ method: 'POST', url: `/blocks/${block}/predict`, payload: { text: 'x' } })
  const asAdmin = (options: Parameters<ReturnType<typeof as>>[0]) => as(app, admin)(options)

  beforeAll(async () => {
    backend = await createBackend(backendName)
    // A long cache: a group change must reach credentials that are cached, not only fresh lookups.
    app = await buildAuthServer({ backend, options: { cacheTtl: '10m' } })
    admin = await login(app)
  })
  afterAll(async () => {
    await app?.close()
    await backend?.drop()
  })

  it('creates, lists, reads, renames and deletes a group; 404 for an unknown id, 409 for a taken name (case ignored)', async () => {
    const created = await asAdmin({ method: 'POST', url: '/admin/groups', payload: { name: 'analysts', blocks: ['echo'] } })
    expect(created.statusCode).toBe(201)
    expect(created.json()).toEqual({ group_id: expect.any(String), name: 'analysts', blocks: ['echo'] })
    const id = created.json().group_id as string
    expect((await asAdmin({ method: 'POST', url: '/admin/groups', payload: { name: 'Analysts', blocks: [] } })).json()).toEqual(
      err(409, 'MLB_GROUP_NAME_TAKEN', "A group named 'Analysts' exists (names are compared without regard to case): choose another name."),
    )
    const record = { group_id: id, name: 'analysts', blocks: ['echo'], members: [], created_at: expect.any(String) }
    expect((await asAdmin({ url: '/admin/groups' })).json()).toEqual([record])
    expect((await asAdmin({ url: `/admin/groups/${id}` })).json()).toEqual(record)
    const renamed = await asAdmin({ method: 'PATCH', url: `/admin/groups/${id}`, payload: { name: 'data-team', blocks: ['echo', 'other'] } })
    expect(renamed.json()).toEqual({ ...record, name: 'data-team', blocks: ['echo', 'other'] })
    const second = (await asAdmin({ method: 'POST', url: '/admin/groups', payload: { name: 'second', blocks: [] } })).json().group_id as string
    expect((await asAdmin({ method: 'PATCH', url: `/admin/groups/${second}`, payload: { name: 'DATA-team' } })).json()).toEqual(err(409, 'MLB_GROUP_NAME_TAKEN'))
    expect((await asAdmin({ method: 'DELETE', url: `/admin/groups/${id}` })).statusCode).toBe(204)
    expect((await asAdmin({ method: 'DELETE', url: `/admin/groups/${second}` })).statusCode).toBe(204)
    for (const [method, url, payload] of [
      ['GET', `/admin/groups/${id}`],
      ['PATCH', `/admin/groups/${id}`, { blocks: [] }],
      ['DELETE', `/admin/groups/${id}`],
      ['PUT', `/admin/groups/${id}/members/${NO_GROUP}`],
    ] as const) {
      expect((await asAdmin({ method, url, ...(payload ? { payload } : {}) })).json(), `${method} ${url}`).toEqual(
        err(404, 'MLB_GROUP_NOT_FOUND', `No group with id '${id}'. GET /admin/groups lists them.`),
      )
    }
  })

  it('answers 400 for a bad name, a bad block name, an empty change, an unknown field or a malformed id', async () => {
    const bad = [
      ['POST', '/admin/groups', { name: 'has space', blocks: [] }],
      ['POST', '/admin/groups', { name: 'x', blocks: ['Not A Block'] }],
      ['POST', '/admin/groups', { name: 'x' }],
      ['POST', '/admin/groups', { name: 'x', blocks: [], members: [] }],
      ['PATCH', `/admin/groups/${NO_GROUP}`, {}],
      ['GET', '/admin/groups/not-a-uuid', undefined],
      ['PUT', `/admin/groups/${NO_GROUP}/members/not-a-uuid`, undefined],
    ] as const
    for (const [method, url, payload] of bad) {
      const res = await asAdmin({ method, url, ...(payload ? { payload } : {}) })
      expect(res.json(), `${method} ${url} ${JSON.stringify(payload)}`).toEqual(err(400, 'MLB_BAD_INPUT'))
    }
  })

  it('a member calls the group’s blocks with a cached token and key at once; a change, a removal and a deletion take them away at once', async () => {
    const user = await createUser(app, admin, { username: 'grouped', blocks: [] })
    const token = await login(app, 'grouped', 'a long enough password')
    const { api_key } = await issueKey(app, admin, user.user_id)
    for (const credential of [token, api_key]) {
      expect((await call(credential, 'echo')).json()).toEqual(NOT_GRANTED('echo')) // and now cached, for ten minutes
      expect((await as(app, credential)({ url: '/blocks' })).json()).toEqual([])
    }
    const group = (await asAdmin({ method: 'POST', url: '/admin/groups', payload: { name: 'echoers', blocks: ['echo'] } })).json().group_id as string
    expect((await asAdmin({ method: 'PUT', url: `/admin/groups/${group}/members/${user.user_id}` })).statusCode).toBe(204)
    expect((await asAdmin({ method: 'PUT', url: `/admin/groups/${group}/members/${user.user_id}` })).statusCode).toBe(204) // again: harmless
    expect((await asAdmin({ url: `/admin/groups/${group}` })).json().members).toEqual([user.user_id])
    for (const credential of [token, api_key]) {
      expect((await call(credential, 'echo')).statusCode).toBe(200)
      expect((await call(credential, 'other')).json()).toEqual(NOT_GRANTED('other'))
      expect((await as(app, credential)({ url: '/blocks' })).json().map((b: { name: string }) => b.name)).toEqual(['echo'])
      expect((await as(app, credential)({ url: '/me' })).json()).toMatchObject({ blocks: ['echo'], access: [{ block: 'echo', via: ['group:echoers'] }] })
    }

    await asAdmin({ method: 'PATCH', url: `/admin/groups/${group}`, payload: { blocks: ['other'] } })
    for (const credential of [token, api_key]) {
      expect((await call(credential, 'echo')).json()).toEqual(NOT_GRANTED('echo'))
      expect((await call(credential, 'other')).statusCode).toBe(200)
    }
    await asAdmin({ method: 'PATCH', url: `/admin/groups/${group}`, payload: { name: 'renamed' } })
    expect((await as(app, token)({ url: '/me' })).json().access).toEqual([{ block: 'other', via: ['group:renamed'] }])

    expect((await asAdmin({ method: 'DELETE', url: `/admin/groups/${group}/members/${user.user_id}` })).statusCode).toBe(204)
    for (const credential of [token, api_key]) expect((await call(credential, 'other')).json()).toEqual(NOT_GRANTED('other'))

    await asAdmin({ method: 'PUT', url: `/admin/groups/${group}/members/${user.user_id}` })
    expect((await call(token, 'other')).statusCode).toBe(200)
    expect((await asAdmin({ method: 'DELETE', url: `/admin/groups/${group}` })).statusCode).toBe(204)
    for (const credential of [token, api_key]) {
      expect((await call(credential, 'other')).json()).toEqual(NOT_GRANTED('other'))
      expect((await as(app, credential)({ url: '/me' })).json().access).toEqual([])
    }
    // What is stored (on Postgres: the embedded folder is the running server's alone).
    if (backendName === 'postgres') {
      const [row] = await backend.query<{ n: number }>(`select count(*)::int as n from mlblocks_auth.group_members where user_id = '${user.user_id}'`)
      expect(row!.n).toBe(0)
    }
  })

  it('joins own grants with several groups’ in /me, naming each reason', async () => {
    const user = await createUser(app, admin, { username: 'many-ways', blocks: ['echo'] })
    const groups = await Promise.all(
      [
        ['alpha', ['echo', 'other']],
        ['beta', ['*']],
      ].map(async ([name, blocks]) => (await asAdmin({ method: 'POST', url: '/admin/groups', payload: { name, blocks } })).json().group_id as string),
    )
    for (const group of groups) await asAdmin({ method: 'PUT', url: `/admin/groups/${group}/members/${user.user_id}` })
    const loggedIn = await app.inject({ method: 'POST', url: '/login', payload: { username: 'many-ways', password: 'a long enough password' } })
    expect(loggedIn.json().user_details).toEqual({ user_id: user.user_id, username: 'many-ways', role: 'user', blocks: ['*'] }) // own ∪ groups'
    const token = loggedIn.json().token as string
    expect((await as(app, token)({ url: '/me' })).json()).toEqual({
      user_id: user.user_id,
      username: 'many-ways',
      role: 'user',
      blocks: ['*'],
      access: [
        { block: 'echo', via: ['own', 'group:alpha', 'group:beta'] },
        { block: 'other', via: ['group:alpha', 'group:beta'] },
      ],
    })
    for (const group of groups) await asAdmin({ method: 'DELETE', url: `/admin/groups/${group}` })
  })

  it('adding a member while the user is deleted answers 204 or 404, never a 5xx; unknown users and groups are 404', async () => {
    const group = (await asAdmin({ method: 'POST', url: '/admin/groups', payload: { name: 'racers', blocks: ['echo'] } })).json().group_id as string
    expect((await asAdmin({ method: 'PUT', url: `/admin/groups/${group}/members/${NO_GROUP}` })).json()).toEqual(err(404, 'MLB_USER_NOT_FOUND'))
    expect((await asAdmin({ method: 'DELETE', url: `/admin/groups/${group}/members/${NO_GROUP}` })).json()).toEqual(err(404, 'MLB_USER_NOT_FOUND'))
    for (let i = 0; i < 5; i++) {
      const user = await createUser(app, admin, { username: `racer-${i}` })
      const [added, deleted] = await Promise.all([
        asAdmin({ method: 'PUT', url: `/admin/groups/${group}/members/${user.user_id}` }),
        asAdmin({ method: 'DELETE', url: `/admin/users/${user.user_id}` }),
      ])
      expect(deleted.statusCode).toBe(204)
      expect([204, 404]).toContain(added.statusCode)
    }
    expect((await asAdmin({ url: `/admin/groups/${group}` })).json().members).toEqual([])
    await asAdmin({ method: 'DELETE', url: `/admin/groups/${group}` })
  })

  it('a removal while lookups of a fresh credential are in flight leaves nothing stale in the cache', async () => {
    const group = (await asAdmin({ method: 'POST', url: '/admin/groups', payload: { name: 'in-flight', blocks: ['echo'] } })).json().group_id as string
    for (let round = 0; round < 3; round++) {
      const user = await createUser(app, admin, { username: `in-flight-${round}`, blocks: [] })
      await asAdmin({ method: 'PUT', url: `/admin/groups/${group}/members/${user.user_id}` })
      const { api_key } = await issueKey(app, admin, user.user_id) // never checked yet: every call below starts a lookup
      const [removed, ...calls] = await Promise.all([
        asAdmin({ method: 'DELETE', url: `/admin/groups/${group}/members/${user.user_id}` }),
        ...Array.from({ length: 8 }, () => call(api_key, 'echo')),
      ])
      expect(removed.statusCode).toBe(204)
      for (const res of calls) expect([200, 403]).toContain(res.statusCode) // decided before or after the removal
      // Once the removal has answered, no request gets in on what a lookup read before it.
      expect((await call(api_key, 'echo')).json()).toEqual(NOT_GRANTED('echo'))
    }
    await asAdmin({ method: 'DELETE', url: `/admin/groups/${group}` })
  })

  it('a group deleted while a member is added answers 204 or 404, never a 5xx, and leaves no membership behind', async () => {
    const user = await createUser(app, admin, { username: 'join-gone' })
    for (let i = 0; i < 5; i++) {
      const group = (await asAdmin({ method: 'POST', url: '/admin/groups', payload: { name: `gone-${i}`, blocks: ['echo'] } })).json().group_id as string
      const [added, deleted] = await Promise.all([
        asAdmin({ method: 'PUT', url: `/admin/groups/${group}/members/${user.user_id}` }),
        asAdmin({ method: 'DELETE', url: `/admin/groups/${group}` }),
      ])
      expect(deleted.statusCode).toBe(204)
      expect([204, 404]).toContain(added.statusCode)
    }
    // What is stored (on Postgres: the embedded folder is the running server's alone).
    if (backendName === 'postgres') {
      const [row] = await backend.query<{ n: number }>(`select count(*)::int as n from mlblocks_auth.group_members where user_id = '${user.user_id}'`)
      expect(row!.n).toBe(0)
    }
  })

  it('audits every group change', async () => {
    const group = (await asAdmin({ method: 'POST', url: '/admin/groups', payload: { name: 'audited', blocks: [] } })).json().group_id as string
    const user = await createUser(app, admin, { username: 'audited-user' })
    await asAdmin({ method: 'PATCH', url: `/admin/groups/${group}`, payload: { blocks: ['echo'] } })
    await asAdmin({ method: 'PUT', url: `/admin/groups/${group}/members/${user.user_id}` })
    await asAdmin({ method: 'DELETE', url: `/admin/groups/${group}/members/${user.user_id}` })
    await asAdmin({ method: 'DELETE', url: `/admin/groups/${group}` })
    const events = (await asAdmin({ url: '/admin/audit?limit=20' })).json() as Array<{ action: string; target: string; actor_name: string }>
    const ours = events.filter((e) => e.target?.startsWith(group)).map((e) => [e.action, e.actor_name])
    expect(ours.reverse()).toEqual([
      ['group.created', 'root'],
      ['group.changed', 'root'],
      ['group.member_added', 'root'],
      ['group.member_removed', 'root'],
      ['group.deleted', 'root'],
    ])
  })

  describe('POST /admin/access/check', () => {
    const check = (payload: Record<string, unknown>) => asAdmin({ method: 'POST', url: '/admin/access/check', payload })
    afterEach(() => void vi.useRealTimers())

    it('explains each path for a user: own grant, group, admin, and nothing', async () => {
      const own = await createUser(app, admin, { username: 'check-own', blocks: ['echo'] })
      const grouped = await createUser(app, admin, { username: 'check-group', blocks: [] })
      const group = (await asAdmin({ method: 'POST', url: '/admin/groups', payload: { name: 'checkers', blocks: ['other'] } })).json().group_id as string
      await asAdmin({ method: 'PUT', url: `/admin/groups/${group}/members/${grouped.user_id}` })
      const rootId = (await asAdmin({ url: '/me' })).json().user_id as string

      expect((await check({ user_id: own.user_id, block: 'echo' })).json()).toEqual({ allowed: true, reason: "User 'check-own' may call 'echo': the user's own grant of 'echo'.", via: ['own'] })
      expect((await check({ user_id: grouped.user_id, block: 'other' })).json()).toEqual({ allowed: true, reason: "User 'check-group' may call 'other': group 'checkers' grants it.", via: ['group:checkers'] })
      expect((await check({ user_id: rootId, block: 'other' })).json()).toEqual({
        allowed: true,
        reason: "User 'root' may call 'other': 'root' is an admin, and admins reach every block; the user's own grant of all blocks (*).",
        via: ['admin', 'own'],
      })
      expect((await check({ user_id: own.user_id, block: 'other' })).json()).toEqual({
        allowed: false,
        reason: `User 'check-own' may not call 'other' (403 MLB_BLOCK_NOT_GRANTED): the user is not an admin, their own blocks ('echo') do not include it, and the user is in no group. Grant it with PATCH /admin/users/${own.user_id}, or add them to a group that has it.`,
        via: [],
      })
      expect((await check({ user_id: grouped.user_id, block: 'echo' })).json()).toEqual({
        allowed: false,
        reason: `User 'check-group' may not call 'echo' (403 MLB_BLOCK_NOT_GRANTED): the user is not an admin, their own blocks (none) do not include it, and the user is in group 'checkers', none of which grants it. Grant it with PATCH /admin/users/${grouped.user_id}, or add them to a group that has it.`,
        via: [],
      })
      // The answer is what the request would get.
      const token = await login(app, 'check-group', 'a long enough password')
      expect((await call(token, 'other')).statusCode).toBe(200)
      expect((await call(token, 'echo')).statusCode).toBe(403)

      await asAdmin({ method: 'PATCH', url: `/admin/users/${own.user_id}`, payload: { disabled: true } })
      expect((await check({ user_id: own.user_id, block: 'echo' })).json()).toEqual({
        allowed: false,
        reason: "User 'check-own' is disabled: every request gets 401 until an admin enables the user again.",
        via: [],
      })
      expect((await check({ user_id: NO_GROUP, block: 'echo' })).json()).toEqual({ allowed: false, reason: `No user with id '${NO_GROUP}': nobody would be let in.`, via: [] })
      await asAdmin({ method: 'DELETE', url: `/admin/groups/${group}` })
    })

    it('explains a key: its owner’s rights, or why it is refused (unknown, revoked, expired, owner disabled)', async () => {
      const owner = await createUser(app, admin, { username: 'key-owner', blocks: ['echo'] })
      const live = await issueKey(app, admin, owner.user_id)
      const prefix = live.api_key.slice(0, 12)
      expect((await check({ key_id: live.key_id, block: 'echo' })).json()).toEqual({
        allowed: true,
        reason: `API key '${live.key_id}' (${prefix}…, of user 'key-owner') may call 'echo': the user's own grant of 'echo'.`,
        via: ['own'],
      })
      expect((await check({ key_id: live.key_id, block: 'other' })).json()).toMatchObject({ allowed: false, reason: expect.stringContaining('(403 MLB_BLOCK_NOT_GRANTED): its owner is not an admin') })

      const revoked = await issueKey(app, admin, owner.user_id)
      await asAdmin({ method: 'DELETE', url: `/admin/apikeys/${revoked.key_id}` })
      expect((await check({ key_id: revoked.key_id, block: 'echo' })).json()).toEqual({
        allowed: false,
        reason: expect.stringMatching(new RegExp(`^API key '${revoked.key_id}' \\(mlb_.{8}…, of user 'key-owner'\\) was revoked at \\d{4}-.+Z: a request with it gets 401\\.$`)),
        via: [],
      })

      const soon = await issueKey(app, admin, owner.user_id, new Date(Date.now() + 60_000).toISOString())
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(Date.now() + 120_000)
      expect((await check({ key_id: soon.key_id, block: 'echo' })).json()).toEqual({ allowed: false, reason: expect.stringMatching(/expired at .+: a request with it gets 401\.$/), via: [] })
      vi.useRealTimers()

      expect((await check({ key_id: NO_GROUP, block: 'echo' })).json()).toEqual({ allowed: false, reason: `No API key with id '${NO_GROUP}': a request with it gets 401.`, via: [] })
      await asAdmin({ method: 'PATCH', url: `/admin/users/${owner.user_id}`, payload: { disabled: true } })
      // Disabling revoked its keys; a key issued after it belongs to a disabled owner.
      const afterDisable = await issueKey(app, admin, owner.user_id)
      expect((await check({ key_id: afterDisable.key_id, block: 'echo' })).json()).toEqual({
        allowed: false,
        reason: `API key '${afterDisable.key_id}' (${afterDisable.api_key.slice(0, 12)}…, of user 'key-owner'): its owner is disabled: every request gets 401 until an admin enables the user again.`,
        via: [],
      })
      expect((await as(app, afterDisable.api_key)({ url: '/me' })).statusCode).toBe(401)
    })

    it('explains a scoped key: what its scope keeps, and what it leaves out although the owner may call it; the answer is what the request gets', async () => {
      const owner = await createUser(app, admin, { username: 'key-scoped', blocks: ['echo', 'other'] })
      const scoped = (await asAdmin({ method: 'POST', url: '/admin/apikeys', payload: { user_id: owner.user_id, name: 'only-echo', blocks: ['echo'] } })).json() as { api_key: string; key_id: string }
      const prefix = scoped.api_key.slice(0, 12)
      expect((await check({ key_id: scoped.key_id, block: 'echo' })).json()).toEqual({
        allowed: true,
        reason: `API key '${scoped.key_id}' (${prefix}…, of user 'key-scoped') may call 'echo': the user's own grant of 'echo', and the key's scope ('echo') includes it.`,
        via: ['own'],
      })
      expect((await check({ key_id: scoped.key_id, block: 'other' })).json()).toEqual({
        allowed: false,
        reason: `API key '${scoped.key_id}' (${prefix}…, of user 'key-scoped') is scoped to 'echo', which leaves out 'other' (its owner may call it; 403 MLB_BLOCK_NOT_GRANTED): issue a key whose blocks include it.`,
        via: [],
      })
      expect((await call(scoped.api_key, 'echo')).statusCode).toBe(200)
      const refused = await call(scoped.api_key, 'other')
      expect(refused.statusCode).toBe(403)
      expect(refused.json().code).toBe('MLB_BLOCK_NOT_GRANTED')
      // The owner loses echo: the scope keeps nothing, and the reason says what is missing.
      await asAdmin({ method: 'PATCH', url: `/admin/users/${owner.user_id}`, payload: { blocks: ['other'] } })
      expect((await check({ key_id: scoped.key_id, block: 'echo' })).json()).toMatchObject({ allowed: false, reason: expect.stringContaining("(403 MLB_BLOCK_NOT_GRANTED): its owner is not an admin, their own blocks ('other') do not include it") })
    })

    it('explains a key through its owner’s group', async () => {
      const owner = await createUser(app, admin, { username: 'key-grouped', blocks: [] })
      const group = (await asAdmin({ method: 'POST', url: '/admin/groups', payload: { name: 'key-group', blocks: ['other'] } })).json().group_id as string
      await asAdmin({ method: 'PUT', url: `/admin/groups/${group}/members/${owner.user_id}` })
      const key = await issueKey(app, admin, owner.user_id)
      expect((await check({ key_id: key.key_id, block: 'other' })).json()).toMatchObject({ allowed: true, via: ['group:key-group'], reason: expect.stringContaining("group 'key-group' grants it") })
      expect((await call(key.api_key, 'other')).statusCode).toBe(200)
      await asAdmin({ method: 'DELETE', url: `/admin/groups/${group}` })
      expect((await check({ key_id: key.key_id, block: 'other' })).json()).toMatchObject({ allowed: false })
    })

    it('answers 400 for neither or both of user_id and key_id, and 404 for a block the server does not serve', async () => {
      const user = await createUser(app, admin, { username: 'check-bad' })
      const both = err(400, 'MLB_BAD_INPUT', 'Send exactly one of body.user_id and body.key_id, with body.block.')
      expect((await check({ block: 'echo' })).json()).toEqual(both)
      expect((await check({ user_id: user.user_id, key_id: NO_GROUP, block: 'echo' })).json()).toEqual(both)
      expect((await check({ user_id: user.user_id })).json()).toEqual(err(400, 'MLB_BAD_INPUT'))
      expect((await check({ user_id: 'nope', block: 'echo' })).json()).toEqual(err(400, 'MLB_BAD_INPUT'))
      expect((await check({ user_id: user.user_id, block: 'missing' })).json()).toEqual(err(404, 'MLB_BLOCK_NOT_FOUND', "No block named 'missing'. GET /blocks lists the blocks you can call."))
    })
  })
})

const pgUrl = process.env.TEST_DATABASE_URL

/** Polls until `check` holds, for at most `ms`. */
async function within(ms: number, check: () => Promise<boolean>): Promise<void> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

needs('postgres').describe('a group change across instances on one Postgres', () => {
  let backend: Backend | undefined
  afterAll(async () => backend?.drop())

  it('reaches the cached token and key of every member on a second instance within a second', async () => {
    expect(pgUrl).toBeDefined()
    backend = await createBackend('postgres')
    const [a, b] = await Promise.all([buildAuthServer({ backend, options: { cacheTtl: '10m' } }), buildAuthServer({ backend, options: { cacheTtl: '10m' } })])
    try {
      const admin = await login(a)
      const users = await Promise.all(['member-1', 'member-2'].map((username) => createUser(a, admin, { username, blocks: [] })))
      const keys = await Promise.all(users.map((u) => issueKey(a, admin, u.user_id)))
      const tokens = await Promise.all(['member-1', 'member-2'].map((u) => login(a, u, 'a long enough password')))
      const credentials = [...keys.map((k) => k.api_key), ...tokens]
      const status = (credential: string) => as(b, credential)({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'x' } }).then((r) => r.statusCode)
      for (const credential of credentials) expect(await status(credential)).toBe(403) // cached on B for ten minutes

      const group = (await as(a, admin)({ method: 'POST', url: '/admin/groups', payload: { name: 'shared', blocks: ['echo'] } })).json().group_id as string
      for (const user of users) await as(a, admin)({ method: 'PUT', url: `/admin/groups/${group}/members/${user.user_id}` })
      for (const credential of credentials) await within(1000, async () => (await status(credential)) === 200)

      await as(a, admin)({ method: 'PATCH', url: `/admin/groups/${group}`, payload: { blocks: ['other'] } })
      for (const credential of credentials) await within(1000, async () => (await status(credential)) === 403)
      await as(a, admin)({ method: 'PATCH', url: `/admin/groups/${group}`, payload: { blocks: ['echo'] } })
      for (const credential of credentials) await within(1000, async () => (await status(credential)) === 200)
      await as(a, admin)({ method: 'DELETE', url: `/admin/groups/${group}` })
      for (const credential of credentials) await within(1000, async () => (await status(credential)) === 403)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})
