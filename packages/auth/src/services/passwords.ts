import { availableParallelism } from 'node:os'
import { hash, verify, type Algorithm } from '@node-rs/argon2'

/**
 * argon2id at OWASP's minimum (19 MiB, 2 iterations, 1 lane). @node-rs/argon2 hashes on libuv's
 * thread pool, off the event loop.
 */
/** `Algorithm.Argon2id` is a const enum, which verbatimModuleSyntax cannot import: its value is 2. */
const ARGON2ID = 2 as Algorithm
export const ARGON2 = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

/**
 * At most half the cores hash at once: a flood of logins then queues for its turn instead of taking
 * every core from the requests that serve predictions.
 */
const MAX_CONCURRENT = Math.max(1, Math.floor(availableParallelism() / 2))
let running = 0
const waiting: Array<() => void> = []

async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve))
  running += 1
  try {
    return await work()
  } finally {
    running -= 1
    waiting.shift()?.()
  }
}

export function hashPassword(password: string): Promise<string> {
  return limited(() => hash(password, ARGON2))
}

/** A hash of a random password, verified against when the username is unknown: same cost, same answer. */
let dummy: Promise<string> | undefined
const dummyHash = () => (dummy ??= hashPassword(crypto.randomUUID()))

/** Verifies against the user's hash, or against the dummy hash when there is no user (always false then). */
export async function checkPassword(hashed: string | undefined, password: string): Promise<boolean> {
  const against = hashed ?? (await dummyHash())
  const ok = await limited(() => verify(against, password)).catch(() => false)
  return ok && hashed !== undefined
}

/** Warms the dummy hash at start-up, so the first unknown-username login is not slower than the rest. */
export async function preparePasswords(): Promise<void> {
  await dummyHash()
}
