import { accessSync, constants } from 'node:fs'
import { relative } from 'node:path'
import { spawnSync } from 'node:child_process'
import { describe, expect, it, type TestFunction } from 'vitest'

/**
 * The services some tests need beyond the install (Postgres, Redis, redis-server, Chromium, chrt, script, HAProxy). A test that
 * needs one declares itself through `needs(name)`: where the service is found it runs; where it is
 * not, it is skipped with one line on stderr that says what to install or set, and under CI=true
 * that skip is a failing test instead, so CI cannot go green on fewer tests than it should.
 */
export type ServiceName = 'postgres' | 'redis' | 'redis-server' | 'chromium' | 'chrt' | 'script' | 'haproxy'

interface Found {
  /** The URL or path to use, when found. */
  value: string | undefined
  /** What a person does to run the tests that need it. */
  hint: string
  label: string
}

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

const find: Record<ServiceName, (env: NodeJS.ProcessEnv) => Found> = {
  postgres: (env) => ({
    label: 'Postgres',
    value: env.TEST_DATABASE_URL || undefined,
    hint: 'set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test (.ci/run does)',
  }),
  redis: (env) => ({
    label: 'Redis',
    value: env.TEST_REDIS_URL || undefined,
    hint: 'set TEST_REDIS_URL=redis://127.0.0.1:6379 (.ci/run does)',
  }),
  'redis-server': () => ({
    label: 'redis-server(1)',
    value: spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0 ? 'redis-server' : undefined,
    hint: 'apt-get install redis-server (the Redis outage tests start and kill their own)',
  }),
  chromium: (env) => {
    const path = env.CHROMIUM_PATH || '/usr/bin/chromium'
    return {
      label: `Chromium at ${path}`,
      value: executable(path) ? path : undefined,
      hint: 'apt-get install chromium, or set CHROMIUM_PATH to a Chromium binary (.ci/run installs it)',
    }
  },
  chrt: () => ({
    label: 'chrt(1)',
    value: spawnSync('chrt', ['--help'], { stdio: 'ignore' }).status === 0 ? 'chrt' : undefined,
    hint: 'install util-linux, which has chrt',
  }),
  script: () => ({
    label: 'script(1), to run a program on a pseudo-terminal',
    value: spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0 ? 'script' : undefined,
    hint: 'install util-linux (bsdutils on Debian), which has script',
  }),
  haproxy: () => {
    // Debian puts it in /usr/sbin, which a user's PATH may lack.
    const path = ['haproxy', '/usr/sbin/haproxy'].find((p) => spawnSync(p, ['-v'], { stdio: 'ignore' }).status === 0)
    return {
      label: 'haproxy(1)',
      value: path,
      hint: 'apt-get install haproxy (the load-balancer suite starts its own on loopback; .ci/run installs it)',
    }
  },
}

type Body = () => void
type TestBody = TestFunction

export interface Needed {
  /** Whether the service was found. */
  available: boolean
  /** Its URL or path (TEST_DATABASE_URL, TEST_REDIS_URL, the Chromium binary); throws where it is missing. */
  readonly value: string
  /** `describe`, run only where the service is found. */
  describe(title: string, body: Body): void
  /** `it`, run only where the service is found. */
  it(title: string, body: TestBody, timeout?: number): void
}

export function needs(name: ServiceName, env: NodeJS.ProcessEnv = process.env): Needed {
  const found = find[name](env)
  const available = found.value !== undefined
  const ci = env.CI === 'true' || env.CI === '1'
  const missing = `needs ${found.label}: ${found.hint}`
  const announce = (title: string): void => {
    const file = expect.getState().testPath
    const where = file ? `${relative(process.cwd(), file)} > ` : ''
    process.stderr.write(`↓ skipped: ${where}${title} — ${missing}\n`)
  }
  const failure = (title: string) => () => {
    throw new Error(`CI=true and "${title}" ${missing}. Outside CI this is a skip; under CI it fails so that no test is silently left out.`)
  }
  return {
    available,
    get value() {
      if (found.value === undefined) throw new Error(missing)
      return found.value
    },
    describe(title, body) {
      if (available) return describe(title, body)
      if (ci) return describe(title, () => it(missing, failure(title)))
      announce(title)
      describe.skip(title, body)
    },
    it(title, body, timeout) {
      if (available) return it(title, body, timeout)
      if (ci) return it(`${title} (${missing})`, failure(title))
      announce(title)
      it.skip(title, body)
    },
  }
}
