import { afterEach, expect, it } from 'vitest'
import { as, buildAuthServer, createBackend, createUser, issueKey, login, UNAUTHORIZED, type Backend } from './helpers.js'
import { needs } from '../../../test-support/services.js'

// Issue 20 across two instances on one Postgres: each caches credentials for ten minutes, so only
// the NOTIFY channel (and the grace compared with the database's clock) can make B agree with A.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Polls until `check` holds, for at most `ms` (a deadline: the assertion is on what `check` sees). */
async function within(ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`)
    await sleep(20)
  }
}
const predict = (block: string) => ({ method: 'POST' as const, url: `/blocks/${block}/predict`, payload: { text: 'x' } })

needs('postgres').describe('scoped and rotated keys across two instances (Postgres)', () => {
  let backend: Backend | undefined
  afterEach(async () => {
    await backend?.drop()
    backend = undefined
  })

  const twoInstances = async () => {
    backend = await createBackend('postgres')
    const [a, b] = await Promise.all([buildAuthServer({ backend, options: { cacheTtl: '10m' } }), buildAuthServer({ backend, options: { cacheTtl: '10m' } })])
    return { a, b, admin: await login(a) }
  }

  it("a grant withdrawn on A shrinks a scoped key that B has cached, within a second", async () => {
    const { a, b, admin } = await twoInstances()
    try {
      const user = await createUser(a, admin, { username: 'shared-scope', blocks: ['echo', 'other'] })
      const res = await as(a, admin)({ method: 'POST', url: '/admin/apikeys', payload: { user_id: user.user_id, blocks: ['echo', 'other'] } })
      const key = (res.json() as { api_key: string }).api_key
      expect((await as(b, key)(predict('echo'))).statusCode).toBe(200) // cached on B for ten minutes
      expect((await as(b, key)(predict('other'))).statusCode).toBe(200)
      await as(a, admin)({ method: 'PATCH', url: `/admin/users/${user.user_id}`, payload: { blocks: ['other'] } })
      await within(1000, async () => (await as(b, key)(predict('echo'))).statusCode === 403)
      expect((await as(b, key)(predict('other'))).statusCode).toBe(200)
      expect(((await as(b, key)({ url: '/blocks' })).json() as Array<{ name: string }>).map((x) => x.name)).toEqual(['other'])
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('rotation without grace: B refuses the old secret it cached within a second, and takes the new one', async () => {
    const { a, b, admin } = await twoInstances()
    try {
      const user = await createUser(a, admin, { username: 'shared-rotor' })
      const { api_key, key_id } = await issueKey(a, admin, user.user_id)
      expect((await as(b, api_key)({ url: '/me' })).statusCode).toBe(200) // cached on B
      const rotated = (await as(a, admin)({ method: 'POST', url: `/admin/apikeys/${key_id}/rotate` })).json() as { api_key: string; key_id: string }
      expect(rotated.key_id).toBe(key_id)
      await within(1000, async () => (await as(b, api_key)({ url: '/me' })).statusCode === 401)
      expect((await as(b, api_key)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      expect((await as(b, rotated.api_key)({ url: '/me' })).statusCode).toBe(200)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('rotation with a grace: both secrets work on both instances until it ends, then the old one stops on both', async () => {
    const { a, b, admin } = await twoInstances()
    try {
      const user = await createUser(a, admin, { username: 'shared-grace' })
      const { api_key, key_id } = await issueKey(a, admin, user.user_id)
      expect((await as(b, api_key)({ url: '/me' })).statusCode).toBe(200) // cached on B for ten minutes
      const rotated = (await as(a, admin)({ method: 'POST', url: `/admin/apikeys/${key_id}/rotate`, payload: { grace_seconds: 2 } })).json() as {
        api_key: string
        previous_valid_until: string
      }
      const graceEnd = Date.parse(rotated.previous_valid_until)
      for (const app of [a, b]) {
        for (const secret of [api_key, rotated.api_key]) expect((await as(app, secret)({ url: '/me' })).statusCode).toBe(200)
        expect((await as(app, api_key)({ url: '/me' })).headers['mlblocks-key-expires']).toBe(rotated.previous_valid_until)
      }
      await sleep(Math.max(0, graceEnd - Date.now()) + 100)
      for (const app of [a, b]) {
        expect((await as(app, api_key)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
        expect((await as(app, rotated.api_key)({ url: '/me' })).statusCode).toBe(200)
      }
      // Cleared and audited once, though two instances could have done it.
      await within(5000, async () => {
        const rows = await backend!.query<{ n: number }>(`select count(*)::int as n from mlblocks_auth.audit_events where action = 'api_key.grace_ended' and target = '${key_id}'`)
        return rows[0]!.n === 1
      })
      const [row] = await backend!.query<{ previous_key_hash: string | null }>(`select previous_key_hash from mlblocks_auth.api_keys where key_id = '${key_id}'`)
      expect(row!.previous_key_hash).toBeNull()
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})
