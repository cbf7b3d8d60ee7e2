import { describe, expect, it } from 'vitest'
import { ARGON2, checkPassword, hashPassword } from '../src/services/passwords.js'
import { SCHED_IDLE, threadNiceValues, threadPolicies } from './helpers.js'
import { needs } from '../../../test-support/services.js'

/** chrt(1) is what puts the hashing threads under SCHED_IDLE; util-linux ships it on Debian, where CI runs. */

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

  it.runIf(process.platform === 'linux')('hash at the lowest CPU priority, on threads of their own: the event loop keeps its priority', async () => {
    // A hash in flight, so its worker exists.
    const hashing = hashPassword('a password to keep a worker busy')
    const [main, ...others] = threadNiceValues()
    await hashing
    expect(main).toBe(0)
    expect(others.filter((nice) => nice === 19).length).toBeGreaterThanOrEqual(1)
  })

  needs('chrt').it('hash under SCHED_IDLE where chrt(1) is on the PATH: a waking request preempts a hash at once', async () => {
    await hashPassword('a password so that a worker has started')
    const [main, ...others] = threadPolicies()
    expect(main).toBe(0) // SCHED_OTHER
    expect(others.filter((policy) => policy === SCHED_IDLE).length).toBeGreaterThanOrEqual(1)
  })

  it('answer many at once, in order, on a bounded number of threads', async () => {
    const hashes = await Promise.all(Array.from({ length: 6 }, (_, i) => hashPassword(`password number ${i}`)))
    const checks = await Promise.all(hashes.map((h, i) => checkPassword(h, `password number ${i}`)))
    expect(checks).toEqual([true, true, true, true, true, true])
    expect(await checkPassword(hashes[0], 'password number 1')).toBe(false)
  })
})
