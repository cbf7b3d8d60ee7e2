import { describe, expect, it } from 'vitest'
import { ARGON2, checkPassword, hashPassword } from '../src/services/passwords.js'

describe('passwords', () => {
  it('are hashed with argon2id at no less than OWASP’s minimum: 19 MiB, 2 iterations, 1 lane', async () => {
    const hashed = await hashPassword('correct horse battery staple')
    const [, algorithm, version, params] = hashed.split('$')
    expect(algorithm).toBe('argon2id')
    expect(version).toBe('v=19')
    const { m, t, p } = Object.fromEntries(params!.split(',').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]))
    expect(m).toBeGreaterThanOrEqual(19_456)
    expect(t).toBeGreaterThanOrEqual(2)
    expect(p).toBe(1)
    expect(ARGON2).toMatchObject({ memoryCost: 19_456, timeCost: 2, parallelism: 1 })
  })

  it('verify the right password only, and never match an unknown user (dummy hash)', async () => {
    const hashed = await hashPassword('correct horse battery staple')
    expect(await checkPassword(hashed, 'correct horse battery staple')).toBe(true)
    expect(await checkPassword(hashed, 'Correct horse battery staple')).toBe(false)
    expect(await checkPassword(undefined, 'correct horse battery staple')).toBe(false)
    expect(await checkPassword('not-a-hash', 'anything')).toBe(false)
  })

  it('salt every hash', async () => {
    expect(await hashPassword('same password here')).not.toBe(await hashPassword('same password here'))
  })
})
