import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { as, buildAuthServer, createBackend, createUser, issueKey, login, UNAUTHORIZED, type Backend } from './helpers.js'
import { needs } from '../../../test-support/services.js'

const cli = new URL('../dist/cli.js', import.meta.url).pathname

async function run(args: string[], env: Record<string, string>, stdin = '', cwd?: string) {
  const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, ...(cwd ? { cwd } : {}) })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  child.stdin.end(stdin)
  const [code] = (await once(child, 'exit')) as [number]
  return { code, stdout, stderr }
}

describe('mlblocks-auth (recovery CLI)', () => {
  let backend: Backend
  let env: Record<string, string>
  beforeAll(async () => {
    backend = await createBackend('embedded')
    env = { MLBLOCKS_DATA_DIR: backend.options.dataDir! }
  })
  afterAll(() => backend?.drop())

  it('creates an admin, lists users, resets a password — on the same database the plugin uses', async () => {
    const created = await run(['create-admin', 'rescuer', '--new-database'], env, 'rescuer password 1\n')
    expect(created).toMatchObject({ code: 0, stdout: expect.stringContaining('Created the admin rescuer') })
    const list = await run(['list-users'], env)
    expect(list.stdout).toMatch(/^username\trole\tdisabled\tcreated\tuser_id\nrescuer\tadmin\tfalse\t/)

    const app = await buildAuthServer({ backend, options: { adminUsername: undefined, adminPassword: undefined } })
    expect(await login(app, 'rescuer', 'rescuer password 1')).toBeTruthy()
    await app.close()

    expect((await run(['reset-password', 'rescuer'], env, 'rescuer password 2\n')).code).toBe(0)
    const again = await buildAuthServer({ backend, options: { adminUsername: undefined, adminPassword: undefined } })
    expect((await again.inject({ method: 'POST', url: '/login', payload: { username: 'rescuer', password: 'rescuer password 1' } })).statusCode).toBe(401)
    expect(await login(again, 'rescuer', 'rescuer password 2')).toBeTruthy()
    await again.close()
  })

  it('refuses create-admin on an existing user unless told --force, then makes them an active admin again', async () => {
    const refused = await run(['create-admin', 'rescuer'], env, 'rescuer password 3\n')
    expect(refused).toMatchObject({
      code: 1,
      stderr: "mlblocks-auth: a user named 'rescuer' already exists (admin): pass --force to make them an active admin with a new password, or choose another name\n",
    })
    const app = await buildAuthServer({ backend, options: { adminUsername: undefined, adminPassword: undefined } })
    expect(await login(app, 'rescuer', 'rescuer password 2')).toBeTruthy() // the password did not change
    await app.close()
    expect((await run(['create-admin', 'rescuer', '--force'], env, 'rescuer password 3\n')).stdout).toContain('rescuer is now an active admin')
  })

  it('prints its version, and help for a command instead of running it', async () => {
    const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
    expect(await run(['--version'], env)).toMatchObject({ code: 0, stdout: `${version}\n` })
    const help = await run(['list-users', '--help'], env)
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage:\n {2}mlblocks-auth create-admin/)
    expect(help.stdout).not.toContain('user_id')
  })

  it.each([
    [['--frce'], "mlblocks-auth: Unknown option '--frce'."],
    [['list-users', 'extra'], "mlblocks-auth: unexpected argument 'extra'."],
    [['create-admin'], 'mlblocks-auth: create-admin needs a username.'],
    [['drop-users'], "mlblocks-auth: unknown command 'drop-users'."],
    [['reset-password', 'ada', '--force'], 'mlblocks-auth: --force only goes with create-admin.'],
  ])('answers %o with one line and the usage, exit code 2', async (args, line) => {
    const result = await run(args, env)
    expect(result.code).toBe(2)
    expect(result.stderr.split('\n')[0]).toBe(line)
    expect(result.stderr).toContain('\nUsage:\n')
    expect(result.stderr).not.toContain('TypeError')
  })

  it('says where it looked, and creates nothing, when run from a folder without a database', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'mlb-cli-empty-'))
    try {
      for (const args of [['list-users'], ['reset-password', 'ada'], ['create-admin', 'ada']]) {
        const result = await run(args, {}, 'a long enough password\n', empty)
        expect(result.code).toBe(1)
        expect(result.stderr).toMatch(
          new RegExp(`^mlblocks-auth: no database found: looked for the embedded database in ${join(empty, '.mlblocks')}\\. .*set MLBLOCKS_DATA_DIR or DATABASE_URL`),
        )
        expect(existsSync(join(empty, '.mlblocks'))).toBe(false)
      }
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
  })

  it.each([
    [['reset-password', 'ghost'], 'a long enough password\n', "mlblocks-auth: no user named 'ghost'\n"],
    [['create-admin', 'x'], 'short\n', 'mlblocks-auth: the password must be 12 to 1024 characters\n'],
    [['create-admin', 'bad name'], '', 'mlblocks-auth: a username is 1-64 letters, digits or . _ @ -\n'],
  ])('refuses %o with one line and exit code 1', async (args, stdin, message) => {
    const result = await run(args, env, stdin)
    expect(result).toMatchObject({ code: 1, stderr: message })
  })
})

// `script` (util-linux) runs the CLI on a pseudo-terminal, as a person at a terminal would.
needs('script').describe('mlblocks-auth on a terminal', () => {
  it('asks for the password twice and never echoes it', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlb-cli-pty-'))
    try {
      const command = `${process.execPath} ${cli} create-admin ptyadmin --new-database`
      const child = spawn('script', ['-qec', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', MLBLOCKS_DATA_DIR: dir, TERM: 'dumb' } })
      let screen = ''
      const typed = 'typed on a terminal 1'
      child.stdout.on('data', (d: Buffer) => {
        screen += d
        // Type only once the prompt shows, as a person would: each prompt is answered once.
        if (/\(not shown\): $|Again: $/.test(screen)) child.stdin.write(`${typed}\r`)
      })
      const [code] = (await once(child, 'exit')) as [number]
      expect(screen).toContain('New password (not shown): ')
      expect(screen).toContain('Again: ')
      expect(screen).toContain('Created the admin ptyadmin')
      expect(screen).not.toContain(typed)
      expect(code).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

// Needs a Postgres server (TEST_DATABASE_URL; .ci/run sets it), as the other Postgres tests do.
needs('postgres').describe('mlblocks-auth beside a running server on one Postgres', () => {
  it('a password reset by the CLI stops the user’s cached key and token on the server at once (NOTIFY)', async () => {
    const backend = await createBackend('postgres')
    // A cache of an hour: without the CLI's NOTIFY, the cached credentials would work on for that long.
    const app = await buildAuthServer({ backend, options: { cacheTtl: '1h' } })
    try {
      const admin = await login(app)
      const user = await createUser(app, admin, { username: 'forgetful' })
      const { api_key } = await issueKey(app, admin, user.user_id)
      const token = await login(app, 'forgetful', 'a long enough password')
      expect((await as(app, api_key)({ url: '/me' })).statusCode).toBe(200) // now cached
      expect((await as(app, token)({ url: '/me' })).statusCode).toBe(200)
      const reset = await run(['reset-password', 'forgetful'], { DATABASE_URL: backend.options.databaseUrl! }, 'a brand new password\n')
      expect(reset.code, reset.stderr).toBe(0)
      const deadline = Date.now() + 2000 // NOTIFY arrives within a second
      while (Date.now() < deadline && (await as(app, api_key)({ url: '/me' })).statusCode === 200) await new Promise((r) => setTimeout(r, 50))
      expect((await as(app, api_key)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
      expect((await as(app, token)({ url: '/me' })).json()).toEqual(UNAUTHORIZED)
    } finally {
      await app.close()
      await backend.drop()
    }
  }, 60_000)
})
