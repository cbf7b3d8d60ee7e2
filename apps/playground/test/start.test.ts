import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { needs } from '../../../test-support/services.js'

// `pnpm start` from the repository root, as a person runs it: pnpm → turbo (strict env mode: only
// the `start` task's passThroughEnv reaches the app) → pnpm → mlblocks. turbo.json's list is the one
// place a setting is let through; the first suite checks it against every name the code reads and
// the READMEs document, the second that a setting of every family takes effect through it.

const repo = new URL('../../../', import.meta.url).pathname
const turbo = JSON.parse(readFileSync(join(repo, 'turbo.json'), 'utf8')) as { tasks: { start: { passThroughEnv: string[] } } }
const passThrough = turbo.tasks.start.passThroughEnv
const passes = (name: string) => passThrough.some((p) => new RegExp(`^${p.replaceAll('*', '[A-Z0-9_]*')}$`).test(name))

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.[cm]?ts$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
const sources = [...files(join(repo, 'packages/core/src')), ...files(join(repo, 'packages/auth/src')), ...files(join(repo, 'apps/playground/src')), join(repo, 'apps/playground/mlblocks.config.ts')]

/** Every environment variable the server's code reads: `env.X`, `env['X']`, and the names given to the settings helpers. */
function namesInCode(): Set<string> {
  const names = new Set<string>()
  for (const file of sources) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/\benv(?:\.|\[['"])([A-Z][A-Z0-9_]*)/g)) names.add(m[1]!)
    // Settings files read env through helpers: `pick('AUTH_JWT_SECRET', …)`, `flag(env, 'MLBLOCKS_OFFLINE', …)`.
    if (/settings\.ts$/.test(file)) for (const m of text.matchAll(/'([A-Z][A-Z0-9_]{2,})'/g)) names.add(m[1]!)
  }
  return names
}

/** Error codes, and the variables that only the tests read (the README's table of test services). */
const testOnly = /^(MLB_|TEST_)|^(CI|CHROMIUM_PATH)$/

/** Every variable the READMEs document in their settings tables and option headings. */
function namesInDocs(): Set<string> {
  const names = new Set<string>()
  for (const doc of ['README.md', 'packages/core/README.md', 'packages/auth/README.md', 'apps/playground/README.md']) {
    for (const line of readFileSync(join(repo, doc), 'utf8').split('\n')) {
      if (!line.startsWith('|') && !line.startsWith('###')) continue
      for (const m of line.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)`/g)) if (!testOnly.test(m[1]!)) names.add(m[1]!)
    }
  }
  return names
}

describe("turbo's pass-through list for `pnpm start`", () => {
  it('lets through every variable the code reads, each plugin switch included', async () => {
    const names = namesInCode()
    const { pluginEnvName } = await import('@mlblocks/core')
    const config = (await import('../mlblocks.config.js')).default
    for (const entry of config.plugins ?? []) names.add(pluginEnvName(entry))
    // The scan finds what it should (so that it cannot pass by finding nothing).
    for (const known of ['PORT', 'HOST', 'LOG_LEVEL', 'MLBLOCKS_BODY_LIMIT', 'AUTH_JWT_SECRET', 'DATABASE_URL', 'REDIS_URL', 'MLBLOCKS_ZSC_MODEL', 'HF_ENDPOINT', 'AUTH_ENABLED', 'WEB_PAGE_ENABLED']) {
      expect(names).toContain(known)
    }
    expect([...names].filter((n) => !n.startsWith('MLB_') && !passes(n))).toEqual([])
  })

  it('lets through every variable the READMEs document, and TRUST_PROXY', () => {
    const names = namesInDocs()
    expect(names.size).toBeGreaterThan(20)
    expect([...names, 'TRUST_PROXY', 'LOG_FORMAT'].filter((n) => !passes(n))).toEqual([])
  })
})

/** A free loopback port (closed again at once). */
async function freePort(): Promise<number> {
  const server = createNetServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((r) => server.close(r))
  return port
}

interface Started {
  output: () => string
  exit: Promise<number | null>
  /** SIGINT to the whole process group, as Ctrl-C in a terminal does. */
  interrupt: () => void
}

/** `pnpm start` at the root with `settings` added to a user's environment (not the test runner's). */
function pnpmStart(settings: Record<string, string>, { terminal = false } = {}): Started {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(VITEST|TURBO_|npm_|PNPM_|CI$|NODE_ENV$|TEST_|MLBLOCKS_|AUTH_|HF_|PORT$|HOST$)/.test(k)) env[k] = v
  }
  // On a terminal: script(1) gives `pnpm start` a pseudo-terminal as its stdout, as a person's shell does.
  const [command, args] = terminal ? ['script', ['-qec', 'pnpm start', '/dev/null']] : ['pnpm', ['start']]
  const child = spawn(command, args, { cwd: repo, env: { ...env, TURBO_TELEMETRY_DISABLED: '1', ...settings }, detached: true })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  children.push(child.pid!)
  return { output: () => output, exit, interrupt: () => process.kill(-child.pid!, 'SIGINT') }
}
const children: number[] = []

async function until<T>(what: string, started: Started, probe: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms
  let exited = false
  void started.exit.then(() => (exited = true))
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (exited) break
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${what} never happened. Output of pnpm start:\n${started.output()}`)
}

const SECRET = 'a signing secret of at least thirty-two bytes'

describe('`pnpm start` at the root honours a setting of every documented family', () => {
  let dir: string
  let hub: Server
  const hubRequests: string[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlb-start-'))
    // A stand-in model hub that has nothing: the block fails to load, after asking it (HF_ENDPOINT).
    hub = createHttpServer((req, res) => {
      hubRequests.push(req.url ?? '')
      res.writeHead(404).end('not found')
    }).listen(0, '127.0.0.1')
    await once(hub, 'listening')
  })
  afterAll(async () => {
    for (const pid of children.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    await new Promise((r) => hub?.close(r))
    rmSync(dir, { recursive: true, force: true })
  })

  it('passes every listed variable through to the server process (NODE_OPTIONS, TRUST_PROXY and the rest)', async () => {
    // A preload in the server's process records its environment and exits before the server starts.
    const dump = join(dir, 'dump-env.mjs')
    const seen = join(dir, 'env.json')
    writeFileSync(dump, `import { writeFileSync } from 'node:fs'\nif (process.argv.some((a) => a.endsWith('cli.js'))) { writeFileSync(${JSON.stringify(seen)}, JSON.stringify(process.env)); process.exit(0) }\n`)
    const names = [...namesInDocs(), 'TRUST_PROXY', 'LOG_FORMAT']
    const settings = Object.fromEntries(names.map((n) => [n, `value-of-${n}`]))
    const started = pnpmStart({ ...settings, NODE_OPTIONS: `--import=${dump}` })
    expect(await started.exit).toBe(0)
    const env = JSON.parse(readFileSync(seen, 'utf8')) as Record<string, string>
    expect(names.filter((n) => env[n] !== `value-of-${n}`)).toEqual([])
  })

  it('PORT, HOST, LOG_LEVEL, MLBLOCKS_*, HF_ENDPOINT and WEB_PAGE_ENABLED=false take effect; Ctrl-C exits 0 without ELIFECYCLE', async () => {
    const port = await freePort()
    const { port: hubPort } = hub.address() as AddressInfo
    const started = pnpmStart({
      PORT: String(port),
      HOST: '127.0.0.2',
      LOG_LEVEL: 'warn',
      WEB_PAGE_ENABLED: 'false',
      MLBLOCKS_BODY_LIMIT: '100',
      MLBLOCKS_ZSC_MODEL: 'tiny/nli',
      MLBLOCKS_MODELS_DIR: join(dir, 'models'),
      HF_ENDPOINT: `http://127.0.0.1:${hubPort}/`,
    })
    const base = `http://127.0.0.2:${port}`
    await until('the server answering on HOST:PORT', started, async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined))
    expect((await fetch(`${base}/`)).status).toBe(404) // WEB_PAGE_ENABLED=false
    const big = await fetch(`${base}/blocks/zero-shot-classification/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(200), classes: ['a'] }),
    })
    expect(big.status).toBe(413) // MLBLOCKS_BODY_LIMIT=100
    // MLBLOCKS_ZSC_MODEL and HF_ENDPOINT: the model was asked of the stand-in hub.
    await until('a request to the stand-in hub', started, async () => (hubRequests.some((r) => r.startsWith('/tiny/nli/')) ? true : undefined))
    const status = await until('the block failing', started, async () => {
      const body = (await (await fetch(`${base}/blocks/zero-shot-classification`)).json()) as { status: string }
      return body.status === 'failed' ? body : undefined
    })
    expect(status.status).toBe('failed')
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow() // HOST=127.0.0.2 only
    // LOG_LEVEL=warn: the block's failure (error) is logged, the info lines are not.
    const logs = started.output().split('\n').filter((l) => l.includes('"level":'))
    expect(logs.some((l) => l.includes('"level":50'))).toBe(true)
    expect(logs.filter((l) => l.includes('"level":30'))).toEqual([])

    started.interrupt()
    expect(await started.exit).toBe(0)
    expect(started.output()).not.toMatch(/ELIFECYCLE|Command failed/)
  })

  it('AUTH_ENABLED with AUTH_JWT_SECRET and MLBLOCKS_DATA_DIR: /blocks needs a credential (401)', async () => {
    const port = await freePort()
    const started = pnpmStart({
      PORT: String(port),
      AUTH_ENABLED: 'true',
      AUTH_JWT_SECRET: SECRET,
      MLBLOCKS_DATA_DIR: join(dir, 'auth-data'),
      MLBLOCKS_ZSC_MODEL: join(dir, 'no-model-here'),
    })
    const base = `http://127.0.0.1:${port}`
    await until('the server answering', started, async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined))
    expect((await fetch(`${base}/blocks`)).status).toBe(401)
    expect(readdirSync(join(dir, 'auth-data')).length).toBeGreaterThan(0) // the embedded database is there
    started.interrupt()
    expect(await started.exit).toBe(0)
  })

  it.each([
    ['DATABASE_URL', { DATABASE_URL: 'mysql://127.0.0.1/auth' }],
    ['REDIS_URL', { REDIS_URL: 'http://127.0.0.1:6379' }],
  ])('%s reaches auth: a wrong one stops start-up with a line naming it', async (name, setting) => {
    const started = pnpmStart({ PORT: String(await freePort()), AUTH_ENABLED: 'true', AUTH_JWT_SECRET: SECRET, MLBLOCKS_DATA_DIR: join(dir, `data-${name}`), ...setting })
    expect(await started.exit).not.toBe(0)
    expect(started.output()).toMatch(new RegExp(`mlblocks: .*${name} must be a`))
  })
})

needs('script').describe('`pnpm start` at the root on a terminal', () => {
  it('logs in readable lines, not JSON (turbo pipes the server\'s output, so the root tells it LOG_FORMAT=pretty)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlb-start-tty-'))
    const port = await freePort()
    const started = pnpmStart({ PORT: String(port), MLBLOCKS_ZSC_MODEL: join(dir, 'no-model-here') }, { terminal: true })
    try {
      await until('the server answering', started, async () => ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined))
      const listening = await until('the listening line', started, async () => started.output().split('\n').find((l) => l.includes('Server listening')))
      expect(listening).toMatch(/INFO/)
      expect(listening).not.toContain('"level":')
    } finally {
      started.interrupt()
      await started.exit
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
