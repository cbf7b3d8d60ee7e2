import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'

const cli = new URL('../dist/cli.js', import.meta.url).pathname
const fixtures = new URL('./fixtures/', import.meta.url).pathname

interface Running {
  child: ChildProcess
  url: string
  stdout: string[]
}

const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

/** Runs `mlblocks start ...` in `cwd` with only the given environment, and waits until it listens. */
async function start(cwd: string, args: string[] = [], env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [cli, 'start', ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env } })
  children.push(child)
  const stdout: string[] = []
  const lines = createInterface({ input: child.stdout! })
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      stdout.push(line)
      const match = /Server listening at (http:\/\/[\d.]+:\d+)/.exec(line)
      if (match) resolve(match[1]!)
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening: ${stdout.join('\n')}`)))
  })
  return { child, url, stdout }
}

/** Runs the CLI to completion and returns its exit code and output. */
async function run(cwd: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [cli, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  const [code] = (await once(child, 'exit')) as [number]
  return { code, stdout, stderr }
}

describe('mlblocks start', { timeout: 20_000 }, () => {
  it('serves the config of the working directory on 127.0.0.1, --port over PORT over the config file', async () => {
    const { url } = await start(`${fixtures}app`, ['--port', '0'], { PORT: '1' })
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const res = await fetch(`${url}/blocks/echo/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'over the wire' }),
    })
    expect(await res.json()).toEqual({ text: 'over the wire' })
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' })
  })

  it('loads a .js config given with --config and honours HOST', async () => {
    const { url } = await start(fixtures, ['--config', 'app-js/mlblocks.config.js', '--port', '0'], { HOST: '127.0.0.2' })
    expect(url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/)
    const res = await fetch(`${url}/blocks/upper/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'js' }),
    })
    expect(await res.json()).toEqual({ text: 'JS' })
  })

  it('lets an in-flight request finish on SIGTERM, then exits 0', async () => {
    const { child, url } = await start(`${fixtures}app`, ['--port', '0'])
    const inFlight = fetch(`${url}/blocks/slow/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ms: 800 }),
    })
    await new Promise((r) => setTimeout(r, 200))
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const res = await inFlight
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ waited: 800 })
    const [code] = (await exited) as [number]
    expect(code).toBe(0)
    await expect(fetch(`${url}/healthz`)).rejects.toThrow()
  })

  it('exits 0 on SIGINT too', async () => {
    const { child } = await start(`${fixtures}app`, ['--port', '0'])
    const exited = once(child, 'exit')
    child.kill('SIGINT')
    expect(((await exited) as [number])[0]).toBe(0)
  })

  it.each([
    ['a broken config', 'broken', [], {}, /^mlblocks: Could not load .*broken\/mlblocks\.config\.ts: .+\n$/],
    ['a config that is not an object', 'not-object', [], {}, /^mlblocks: .*the default export is not an object\..*\n$/],
    ['no config', '..', [], {}, /^mlblocks: No mlblocks\.config\.ts, mlblocks\.config\.mts, mlblocks\.config\.js or mlblocks\.config\.mjs in .*\n$/],
    ['a bad PORT', 'app', [], { PORT: 'eighty' }, /^mlblocks: PORT must be a whole number from 0 to 65535; got 'eighty'\.\n$/],
    ['a bad --port', 'app', ['--port', 'x'], {}, /^mlblocks: --port must be a whole number from 0 to 65535; got 'x'\.\n$/],
    ['a bad LOG_FORMAT', 'app', [], { LOG_FORMAT: 'xml' }, /^mlblocks: LOG_FORMAT must be json, pretty or auto \(readable on a terminal, JSON otherwise\); got 'xml'\.\n$/],
    [
      'auth enabled but not installed',
      'app',
      [],
      { AUTH_ENABLED: 'true' },
      /^mlblocks: @mlblocks\/auth is enabled \(by AUTH_ENABLED=true\) but cannot be found from .*: run `pnpm add @mlblocks\/auth`, or set AUTH_ENABLED=false to turn it off\.\n$/,
    ],
  ])('stops on %s with one line on stderr and exit code 1', async (_what, dir, args, env, message) => {
    const { code, stderr } = await run(`${fixtures}${dir}`, ['start', ...args], env as Record<string, string>)
    expect(code).toBe(1)
    expect(stderr).toMatch(message)
    expect(stderr.trim().split('\n')).toHaveLength(1)
  })

  it.each([
    ['no-default', /^mlblocks: .*no-default\/mlblocks\.config\.js has no default export\. Add `export default defineConfig\(\{ server, blocks, plugins \}\)`\.\n$/],
    ['no-blocks', /^mlblocks: .*no-blocks\/mlblocks\.config\.ts lists no blocks, so there would be nothing to serve\. .*\n$/],
  ])('stops on a config in %s with one line, instead of serving zero blocks', async (dir, message) => {
    const { code, stderr } = await run(`${fixtures}${dir}`, ['start', '--port', '0'])
    expect(code).toBe(1)
    expect(stderr).toMatch(message)
  })

  it('logs one JSON object per line when stdout is not a terminal', async () => {
    const { stdout } = await start(`${fixtures}app`, ['--port', '0'])
    expect(stdout.length).toBeGreaterThan(0)
    for (const line of stdout) expect(JSON.parse(line)).toMatchObject({ level: expect.any(Number), msg: expect.any(String) })
  })

  it('logs readable lines with LOG_FORMAT=pretty, even into a pipe', async () => {
    const { stdout } = await start(`${fixtures}app`, ['--port', '0'], { LOG_FORMAT: 'pretty' })
    expect(stdout.at(-1)).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: Server listening at http:\/\/127\.0\.0\.1:\d+$/)
    for (const line of stdout) expect(() => JSON.parse(line)).toThrow()
  })

  it('prints usage for --help, help and no command', async () => {
    for (const args of [['--help'], ['help'], []]) {
      const { code, stdout } = await run(fixtures, args)
      expect(code).toBe(0)
      expect(stdout).toContain('Usage: mlblocks start [--config FILE] [--port N] [--host H]')
    }
  })

  it('prints its version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    expect(await run(fixtures, ['--version'])).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' })
  })

  it.each([
    [['start', '--prot', '80'], "mlblocks: Unknown option '--prot'."],
    [['start', 'extra'], "mlblocks: unexpected argument 'extra' after start."],
    [['serve'], "mlblocks: unknown command 'serve'."],
    [['start', '--port'], "mlblocks: Option '-p, --port <value>' argument missing."],
  ])('answers %o with one line and the usage (exit code 2), not a stack trace', async (args, line) => {
    const { code, stdout, stderr } = await run(fixtures, args)
    expect(code).toBe(2)
    expect(stdout).toBe('')
    const [first, blank, usage] = stderr.split('\n')
    expect(first).toBe(line)
    expect(blank).toBe('')
    expect(usage).toBe('Usage: mlblocks start [--config FILE] [--port N] [--host H]')
    expect(stderr).not.toMatch(/TypeError|ERR_PARSE_ARGS|at .*\.js:\d+/)
  })
})
