import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ADMIN, buildAuthServer, createBackend, logCollector, type Backend } from './helpers.js'

// The README's curl walkthrough, step by step, over a real socket.
let backend: Backend
let app: FastifyInstance
let base: string
const log = logCollector()

beforeAll(async () => {
  backend = await createBackend('embedded')
  app = await buildAuthServer({ backend, logStream: log.stream })
  base = await app.listen({ host: '127.0.0.1', port: 0 })
})
afterAll(async () => {
  await app?.close()
  await backend?.drop()
})

async function call(method: string, path: string, { body, headers = {} }: { body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

it('log in, create a user, issue a key, call a block with it, ask why, group her, revoke it', async () => {
  // 1. Log in as the admin created from MLBLOCKS_ADMIN_USERNAME / MLBLOCKS_ADMIN_PASSWORD.
  const login = await call('POST', '/login', { body: ADMIN })
  expect(login.status).toBe(200)
  const admin = { authorization: `Bearer ${login.body.token}` }

  // 2. Create a user who may call only the echo block.
  const user = await call('POST', '/admin/users', { headers: admin, body: { username: 'ada', password: 'ada-long-password', role: 'user', blocks: ['echo'] } })
  expect(user.status).toBe(201)

  // 3. Issue an API key for that user: shown this once.
  const key = await call('POST', '/admin/apikeys', { headers: admin, body: { user_id: user.body.user_id, expiration_date: new Date(Date.now() + 86_400_000).toISOString() } })
  expect(key.status).toBe(201)
  const apiKey = { 'x-api-key': key.body.api_key }

  // 4. Call the block with it (X-API-Key or Authorization: Bearer); the other block is refused.
  expect(await call('POST', '/blocks/echo/predict', { headers: apiKey, body: { text: 'hello' } })).toEqual({ status: 200, body: { text: 'hello' } })
  expect((await call('POST', '/blocks/echo/predict', { headers: { authorization: `Bearer ${key.body.api_key}` }, body: { text: 'hi' } })).status).toBe(200)
  expect((await call('POST', '/blocks/other/predict', { headers: apiKey, body: { text: 'hello' } })).status).toBe(403)
  expect((await call('GET', '/blocks', { headers: apiKey })).body.map((b: { name: string }) => b.name)).toEqual(['echo'])

  // 5. Ask why she may call it, and whether she may call the other block.
  const why = await call('POST', '/admin/access/check', { headers: admin, body: { key_id: key.body.key_id, block: 'echo' } })
  expect(why).toEqual({ status: 200, body: { allowed: true, reason: expect.stringContaining("of user 'ada') may call 'echo': the user's own grant of 'echo'."), via: ['own'] } })
  expect((await call('POST', '/admin/access/check', { headers: admin, body: { user_id: user.body.user_id, block: 'other' } })).body).toMatchObject({ allowed: false, via: [] })

  // 6. Grants for many users at once: a group, and ada in it.
  const group = await call('POST', '/admin/groups', { headers: admin, body: { name: 'support', blocks: ['echo'] } })
  expect(group.status).toBe(201)
  expect((await call('PUT', `/admin/groups/${group.body.group_id}/members/${user.body.user_id}`, { headers: admin })).status).toBe(204)
  expect((await call('GET', '/me', { headers: apiKey })).body.access).toEqual([{ block: 'echo', via: ['own', 'group:support'] }])

  // 7. Revoke it: it stops working at once.
  expect((await call('DELETE', `/admin/apikeys/${key.body.key_id}`, { headers: admin })).status).toBe(204)
  expect((await call('POST', '/blocks/echo/predict', { headers: apiKey, body: { text: 'hello' } })).status).toBe(401)

  // Nothing secret reached the log.
  const text = log.text()
  for (const secret of [ADMIN.password, 'ada-long-password', login.body.token, key.body.api_key]) expect(text).not.toContain(secret)
})

it('self-service and rotation: ada issues herself a scoped key, rotates it with a grace, revokes it', async () => {
  // Ada (created above) logs in and issues herself a named key, scoped to one of her blocks.
  const ada = await call('POST', '/login', { body: { username: 'ada', password: 'ada-long-password' } })
  const auth = { authorization: `Bearer ${ada.body.token}` }
  const ci = await call('POST', '/me/apikeys', { headers: auth, body: { name: 'ci', blocks: ['echo'] } })
  expect(ci.status).toBe(201)
  const listed = await call('GET', '/me/apikeys', { headers: auth })
  expect(listed.body).toContainEqual(expect.objectContaining({ key_id: ci.body.key_id, name: 'ci', prefix: ci.body.api_key.slice(0, 12), blocks: ['echo'] }))

  // Rotation without downtime: both secrets work during the grace; the old one says when it stops.
  const rotated = await call('POST', `/me/apikeys/${ci.body.key_id}/rotate`, { headers: auth, body: { grace_seconds: 600 } })
  expect(rotated.status).toBe(200)
  expect(rotated.body.key_id).toBe(ci.body.key_id)
  const old = await fetch(`${base}/blocks`, { headers: { 'x-api-key': ci.body.api_key } })
  expect(old.status).toBe(200)
  expect(old.headers.get('mlblocks-key-expires')).toBe(rotated.body.previous_valid_until)
  expect((await call('GET', '/blocks', { headers: { 'x-api-key': rotated.body.api_key } })).status).toBe(200)

  // Deleting the key stops both secrets.
  expect((await call('DELETE', `/me/apikeys/${ci.body.key_id}`, { headers: auth })).status).toBe(204)
  for (const key of [ci.body.api_key, rotated.body.api_key]) expect((await call('GET', '/blocks', { headers: { 'x-api-key': key } })).status).toBe(401)
  for (const secret of [ci.body.api_key, rotated.body.api_key]) expect(log.text()).not.toContain(secret)
})
