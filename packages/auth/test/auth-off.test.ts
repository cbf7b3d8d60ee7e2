import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { packageRoot, SECRET } from './helpers.js'
import { needs } from '../../../test-support/services.js'

const AUTH_MODULES = ['@mlblocks/auth', '@node-rs/argon2', 'drizzle-orm', 'postgres', '@electric-sql/pglite', '@fastify/jwt']

/**
 * Starts core in a child process (as `mlblocks start` would), serves a few requests, and reports
 * every module it loaded — found without a loader hook, so nothing changes what gets loaded — and
 * the hooks of its routes.
 */
async function probe(env: Record<string, string>) {
  const script = `
    import { Session } from 'node:inspector'
    import { createRequire } from 'node:module'
    import { createServer, defineBlock, Type } from '@mlblocks/core'
    const echo = defineBlock({ name: 'echo', description: 'e', input: Type.Object({ text: Type.String() }), output: Type.Object({ text: Type.String() }), predict: async (x) => x })
    const app = await createServer({ blocks: [echo], plugins: [{ module: '@mlblocks/auth', enabled: false }] }, { root: ${JSON.stringify(packageRoot)}, server: { logLevel: 'silent' } })
    const statuses = []
    for (const url of ['/blocks', '/healthz', '/blocks/echo', '/console/', '/console/console.js']) statuses.push((await app.inject(url)).statusCode)
    statuses.push((await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'x' } })).statusCode)
    const hooks = app.printRoutes({ includeHooks: true, commonPrefix: false })
    // ES modules from the inspector (the module map keeps them), CommonJS from require.cache
    // (its scripts may be collected once run), native addons from the process report.
    const session = new Session(); session.connect()
    const report = process.report.getReport()
    const scripts = [...Object.keys(createRequire(import.meta.url).cache), ...report.sharedObjects]
    const workers = report.workers.length
    session.on('Debugger.scriptParsed', ({ params }) => params.url && scripts.push(params.url))
    await new Promise((r) => session.post('Debugger.enable', r))
    console.log(JSON.stringify({ statuses, scripts, hooks, workers }))
    await app.close()
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: packageRoot, env: { PATH: process.env.PATH ?? '', ...env } })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d))
  child.stderr.on('data', (d: Buffer) => (err += d))
  const [code] = (await once(child, 'exit')) as [number]
  if (code !== 0) throw new Error(`probe failed: ${err}`)
  return JSON.parse(out) as { statuses: number[]; scripts: string[]; hooks: string; workers: number }
}

// argon2 runs on worker threads: its native addon (in @node-rs/argon2-<platform>) shows in the
// process report whichever thread loaded it. PGlite (WebAssembly, no addon) runs on a worker thread
// the inspector does not see, so the probe also counts worker threads.
const loaded = (scripts: string[]) =>
  AUTH_MODULES.filter((m) =>
    scripts.some(
      (s) =>
        s.includes(`/node_modules/${m}/`) ||
        (m === '@node-rs/argon2' && s.includes('/node_modules/@node-rs/argon2-')) ||
        (m === '@mlblocks/auth' && s.includes('/packages/auth/dist/')),
    ),
  )

describe('with auth off', () => {
  it('never loads @mlblocks/auth (nor serves its console), argon2, drizzle, the postgres driver, PGlite or @fastify/jwt, starts no thread, and runs no auth hook', async () => {
    const off = await probe({ AUTH_ENABLED: 'false' })
    expect(off.statuses).toEqual([200, 200, 200, 404, 404, 200]) // no console asset without auth
    expect(off.scripts.some((s) => s.includes('@mlblocks') || s.includes('/packages/core/dist/'))).toBe(true) // the probe sees core
    expect(loaded(off.scripts)).toEqual([])
    expect(off.workers).toBe(0)
    expect(off.hooks).not.toContain('mlblocksAuthenticate')
  })

  it('loads them and checks every block request when on (so the probe can tell)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mlb-probe-'))
    const on = await probe({ AUTH_ENABLED: 'true', AUTH_JWT_SECRET: SECRET, MLBLOCKS_DATA_DIR: dataDir }).finally(() => rmSync(dataDir, { recursive: true }))
    expect(on.statuses).toEqual([401, 200, 401, 200, 200, 401]) // the console's files are public; its data is not
    // The embedded database is PGlite on a worker thread, which the server reaches with the postgres driver.
    expect(loaded(on.scripts)).toEqual(AUTH_MODULES.filter((m) => m !== '@electric-sql/pglite'))
    expect(on.workers).toBeGreaterThanOrEqual(1) // the embedded database's thread, and argon2's
    expect(on.hooks).toContain('mlblocksAuthenticate')
  })

  needs('postgres').it('loads the postgres driver when DATABASE_URL is set', async () => {
    const on = await probe({ AUTH_ENABLED: 'true', AUTH_JWT_SECRET: SECRET, DATABASE_URL: process.env.TEST_DATABASE_URL! })
    expect(loaded(on.scripts)).toEqual(AUTH_MODULES.filter((m) => m !== '@electric-sql/pglite'))
  })
})
