import { createHash, randomBytes } from 'node:crypto'
import { expect, it } from 'vitest'
import { generateApiKey } from '../src/services/api-keys.js'
import { hashPassword } from '../src/services/passwords.js'
import { as, buildAuthServer, createBackend, describeEachBackend, login, migrateUpTo, UNAUTHORIZED } from './helpers.js'

const USER_ID = '22222222-2222-4222-8222-222222222222'
const PASSWORD = 'a veteran long password'

describeEachBackend('upgrading to 0003_api_keys from the schema before it (%s database)', (backendName) => {
  it('keeps keys of both older formats and their users working; they are unscoped, unnamed, and can be rotated', async () => {
    const backend = await createBackend(backendName)
    try {
      await migrateUpTo(['0000_init', '0001_audit_events', '0002_hardening'], backend)
      // Written as the code before this release wrote them: a user, a key of the first format (43
      // characters, no checksum) and one with the checksum.
      const legacy = `mlb_${createHash('sha256').update(randomBytes(8)).digest('base64url').replace(/[-_]/g, 'x').slice(0, 43)}`
      const checksummed = generateApiKey()
      const sha = (k: string) => createHash('sha256').update(k).digest('hex')
      await backend.query(`insert into mlblocks_auth.users (user_id, username, hashed_password, role, blocks) values ('${USER_ID}', 'veteran', '${await hashPassword(PASSWORD)}', 'user', '{echo}')`)
      await backend.query(`insert into mlblocks_auth.api_keys (user_id, key_hash, prefix, checksummed) values ('${USER_ID}', '${sha(legacy)}', '${legacy.slice(0, 12)}', false)`)
      await backend.query(`insert into mlblocks_auth.api_keys (user_id, key_hash, prefix) values ('${USER_ID}', '${sha(checksummed)}', '${checksummed.slice(0, 12)}')`)

      const app = await buildAuthServer({ backend })
      try {
        for (const key of [legacy, checksummed]) {
          expect((await as(app, key)({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'x' } })).statusCode).toBe(200)
          expect((await as(app, key)({ method: 'POST', url: '/blocks/other/predict', payload: { text: 'x' } })).statusCode).toBe(403)
        }
        expect((await app.inject({ method: 'POST', url: '/login', payload: { username: 'veteran', password: PASSWORD } })).statusCode).toBe(200)
        const admin = await login(app)
        const rows = (await as(app, admin)({ url: `/admin/apikeys?user_id=${USER_ID}` })).json() as Array<Record<string, unknown>>
        expect(rows).toHaveLength(2)
        for (const row of rows) expect(row).toMatchObject({ name: null, blocks: null, issued_by: null, rotated_at: null, previous_prefix: null })

        // The old-format key, rotated with a grace: its old secret (no checksum) still works for the
        // grace, the new one has the checksum.
        const legacyId = rows.find((r) => r.prefix === legacy.slice(0, 12))!.key_id as string
        const rotated = (await as(app, admin)({ method: 'POST', url: `/admin/apikeys/${legacyId}/rotate`, payload: { grace_seconds: 3600 } })).json() as { api_key: string }
        expect(rotated.api_key).toMatch(/^mlb_[0-9A-Za-z]{36}$/)
        expect((await as(app, legacy)({ url: '/me' })).json()).toMatchObject({ username: 'veteran' })
        expect((await as(app, rotated.api_key)({ url: '/me' })).json()).toMatchObject({ username: 'veteran' })
      } finally {
        await app.close()
      }
      // After a restart during the grace, the old secret still works: the prefix of an old-format
      // secret in its grace is loaded from the database. Rotated again without a grace, it is refused.
      const restarted = await buildAuthServer({ backend })
      try {
        expect((await as(restarted, legacy)({ url: '/me' })).json()).toMatchObject({ username: 'veteran' })
        const admin = await login(restarted)
        const legacyId = ((await as(restarted, admin)({ url: `/admin/apikeys?user_id=${USER_ID}` })).json() as Array<{ key_id: string; previous_prefix: string | null }>).find(
          (r) => r.previous_prefix === legacy.slice(0, 12),
        )!.key_id
        const again = (await as(restarted, admin)({ method: 'POST', url: `/admin/apikeys/${legacyId}/rotate` })).json() as { api_key: string }
        expect((await as(restarted, legacy)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
        expect((await as(restarted, again.api_key)({ url: '/me' })).statusCode).toBe(200)
      } finally {
        await restarted.close()
      }
    } finally {
      await backend.drop()
    }
  }, 180_000)
})
