import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { as, buildAuthServer, createBackend, createUser, issueKey, login, UNAUTHORIZED, type Backend } from './helpers.js'

const cli = new URL('../dist/cli.js', import.meta.url).pathname

async function run(args: string[], env: Record<string, string>, stdin = '') {
  const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
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
    const created = await run(['create-admin', 'rescuer'], env, 'rescuer password 1\n')
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

  it('makes an existing user an active admin again with create-admin', async () => {
    expect((await run(['create-admin', 'rescuer'], env, 'rescuer password 3\n')).stdout).toContain('rescuer is now an active admin')
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

// Needs a Postgres server (TEST_DATABASE_URL; .ci/run sets it), as the other Postgres tests do.
const pgUrl = process.env.TEST_DATABASE_URL
if (!pgUrl) console.log('skipped: the recovery CLI reaching a running server needs Postgres: set TEST_DATABASE_URL to run it')
describe.skipIf(!pgUrl)('mlblocks-auth beside a running server on one Postgres', () => {
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
