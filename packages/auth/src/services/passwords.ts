import { availableParallelism } from 'node:os'
import type { Algorithm } from '@node-rs/argon2'
import { PasswordsBusy } from '../errors.js'
import { PasswordWorkers } from './password-workers.js'

/** `Algorithm.Argon2id` is a const enum, which verbatimModuleSyntax cannot import: its value is 2. */
const ARGON2ID = 2 as Algorithm
/** argon2id at OWASP's minimum: 19 MiB, 2 iterations, 1 lane. */
export const ARGON2 = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

const size = Math.max(1, Math.floor(availableParallelism() / 2))
/**
 * Jobs allowed to wait per worker: about a second of argon2 at OWASP's parameters on a busy core.
 * Past it a login answers 503 with Retry-After at once, instead of queueing without bound (1,000
 * queued logins once delayed a real one by 8 s).
 */
export const QUEUE_PER_WORKER = 32

/**
 * Hashes run on at most half the cores, in worker threads at the lowest CPU priority: a flood of
 * logins queues for its turn (up to a bound) and takes only the CPU that serving predictions leaves idle.
 */
export const workers = new PasswordWorkers(size, size * QUEUE_PER_WORKER)

/**
 * A password as it is hashed: in Unicode NFC, so that the same characters typed on another system
 * (composed or decomposed) are the same password. Callers refuse lone surrogates first (see
 * `wellFormed`): hashed as UTF-8 they become U+FFFD, so that different passwords would verify alike.
 */
const normalize = (password: string): string => password.normalize('NFC')

/** False when `password` holds a lone surrogate (not valid Unicode): the caller answers 400. */
export function wellFormed(password: string): boolean {
  return !/\p{Cs}/u.test(password) // with the u flag, a surrogate pair is one code point and only a lone half is Cs
}

export function hashPassword(password: string): Promise<string> {
  return workers.run({ op: 'hash', password: normalize(password), options: ARGON2 }) as Promise<string>
}

/** A hash of a random password, verified against when the username is unknown: same cost, same answer. */
let dummy: Promise<string> | undefined
const dummyHash = () =>
  (dummy ??= hashPassword(crypto.randomUUID()).catch((err: unknown) => {
    dummy = undefined // a full queue at the first use: try again next time
    throw err
  }))

/** Verifies against the user's hash, or against the dummy hash when there is no user (always false then). */
export async function checkPassword(hashed: string | undefined, password: string): Promise<boolean> {
  const against = hashed ?? (await dummyHash())
  // A full queue is a 503 to retry (never a failed login); any other error is a failed check.
  const verify = (candidate: string) =>
    (workers.run({ op: 'verify', password: candidate, hashed: against }) as Promise<boolean>).catch((err: unknown) => {
      if (err instanceof PasswordsBusy) throw err
      return false
    })
  const normalized = normalize(password)
  let ok = await verify(normalized)
  // Hashes made before passwords were normalised: a password typed in another form verifies as typed.
  if (!ok && normalized !== password) ok = await verify(password)
  return ok && hashed !== undefined
}

/** Warms the dummy hash at start-up, so the first unknown-username login is not slower than the rest. */
export async function preparePasswords(): Promise<void> {
  await dummyHash()
}
