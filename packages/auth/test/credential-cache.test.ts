import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { ApiKeys } from '../src/services/api-keys.js'
import { Credentials } from '../src/services/credentials.js'
import type { Principal } from '../src/services/principal.js'
import type { Tokens } from '../src/services/tokens.js'
import { rightsOf } from '../src/services/access.js'

// Issue 26: the cache is keyed by the credential itself, so it must hold credentials no longer than
// their TTL, and no more of them than its bound.

/** Tokens that verify at once, each credential as a user of its own (counts the lookups). */
function instantTokens() {
  const state = {
    calls: 0,
    tokens: {
      async verify(jwt: string) {
        state.calls += 1
        const principal: Principal = { userId: `u-${jwt}`, username: jwt, role: 'user', blocks: [], rights: rightsOf({ role: 'user', blocks: [] }, []), via: 'token', credentialId: `t-${jwt}` }
        return { principal, expiresAt: new Date(Date.now() + 3_600_000) }
      },
    } as unknown as Tokens,
  }
  return state
}

describe('the credential cache, keyed by the credential', () => {
  it('drops an entry at its TTL even when that credential is never sent again', async () => {
    const database = instantTokens()
    const credentials = new Credentials(database.tokens, new ApiKeys(undefined as never), 100)
    await credentials.check('a.b.c')
    await credentials.check('d.e.f')
    expect(credentials.size).toBe(2)
    expect(credentials.check('a.b.c')).toMatchObject({ username: 'a.b.c' }) // a hit: no promise
    await sleep(400) // the TTL, then a sweep (every TTL, here)
    expect(credentials.size).toBe(0)
    await credentials.check('a.b.c')
    expect(database.calls).toBe(3) // asked again after the TTL
    credentials.close()
  })

  it('holds at most 10,000 credentials, the oldest dropped first', async () => {
    const database = instantTokens()
    const credentials = new Credentials(database.tokens, new ApiKeys(undefined as never), 60_000)
    for (let i = 0; i < 10_050; i++) await credentials.check(`cred-${i}`)
    expect(credentials.size).toBe(10_000)
    const calls = database.calls
    expect(credentials.check('cred-10049')).toMatchObject({ username: 'cred-10049' }) // the newest is held
    await credentials.check('cred-0') // the oldest was dropped: asked again
    expect(database.calls).toBe(calls + 1)
    credentials.close()
  })

  it('drops a revoked credential at once, and a user\'s every credential', async () => {
    const database = instantTokens()
    const credentials = new Credentials(database.tokens, new ApiKeys(undefined as never), 60_000)
    await credentials.check('a.b.c')
    await credentials.check('d.e.f')
    credentials.forgetCredential('t-a.b.c')
    expect(credentials.size).toBe(1)
    credentials.forgetUser('u-d.e.f')
    expect(credentials.size).toBe(0)
    credentials.close()
  })
})
