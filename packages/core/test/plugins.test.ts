import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { beforeEach, describe, expect, it } from 'vitest'
import { enabledPlugins, pluginEnvName } from '../src/index.js'
import { buildTestServer, echoBlock, tempDir } from './helpers.js'

interface Record {
  imported: number
  registered: number
  options: unknown[]
}
let recorder: string
/** What the recording plugin at `recorder` saw; undefined when it was never imported. */
const record = (): Record | undefined =>
  (globalThis as { __recordingPlugin?: { [url: string]: Record } }).__recordingPlugin?.[pathToFileURL(recorder).href]

describe('plugin registry', () => {
  beforeEach(() => {
    recorder = join(tempDir('recorder'), 'recording-plugin.mjs')
    copyFileSync(new URL('./fixtures/recording-plugin.mjs', import.meta.url), recorder)
  })

  it('never imports a disabled plugin, and no hook of it runs', async () => {
    const app = await buildTestServer({ blocks: [echoBlock], plugins: [{ module: recorder, enabled: false }] })
    const res = await app.inject('/healthz')
    expect(res.headers['x-recording-plugin']).toBeUndefined()
    expect(record()).toBeUndefined()
    await app.close()
  })

  it('imports an enabled plugin once and registers it once with its options, before the block routes', async () => {
    const app = await buildTestServer({ blocks: [echoBlock], plugins: [{ module: recorder, options: { greeting: 'hi' } }] })
    expect(record()).toEqual({ imported: 1, registered: 1, options: [{ greeting: 'hi' }] })
    const res = await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'a' } })
    expect(res.headers['x-recording-plugin']).toBe('ran')
    await app.close()
  })

  it('lets the environment override the config file, both ways', async () => {
    const off = await buildTestServer({ plugins: [{ module: recorder, enabled: true, env: 'REC_ENABLED' }] }, { env: { REC_ENABLED: 'false' } })
    expect(record()).toBeUndefined()
    await off.close()
    const on = await buildTestServer({ plugins: [{ module: recorder, enabled: false, env: 'REC_ENABLED' }] }, { env: { REC_ENABLED: '1' } })
    expect(record()?.registered).toBe(1)
    await on.close()
  })

  it('lets a createServer() option override the environment, both ways, and add options', async () => {
    const off = await buildTestServer(
      { plugins: [{ module: recorder, env: 'REC_ENABLED' }] },
      { env: { REC_ENABLED: 'true' }, plugins: { [recorder]: false } },
    )
    expect(record()).toBeUndefined()
    await off.close()
    const on = await buildTestServer(
      { plugins: [{ module: recorder, enabled: false, env: 'REC_ENABLED', options: { a: 1 } }] },
      { env: { REC_ENABLED: '0' }, plugins: { [recorder]: { enabled: true, options: { b: 2 } } } },
    )
    expect(record()).toMatchObject({ registered: 1, options: [{ a: 1, b: 2 }] })
    await on.close()
  })

  it('derives the switch from the package name', () => {
    expect(pluginEnvName({ module: '@mlblocks/auth' })).toBe('AUTH_ENABLED')
    expect(pluginEnvName({ module: './src/web-page.ts' })).toBe('WEB_PAGE_ENABLED')
    expect(pluginEnvName({ module: 'x', env: 'MY_SWITCH' })).toBe('MY_SWITCH')
  })

  it('knows @mlblocks/auth: AUTH_ENABLED switches it even when the config does not list it', () => {
    expect(enabledPlugins([], {}).map((p) => p.entry.module)).toEqual([])
    expect(enabledPlugins([], { AUTH_ENABLED: 'true' })).toMatchObject([{ entry: { module: '@mlblocks/auth' }, enabledBy: 'AUTH_ENABLED=true' }])
    expect(enabledPlugins([{ module: '@mlblocks/auth', enabled: true }], { AUTH_ENABLED: 'false' })).toEqual([])
    expect(enabledPlugins([{ module: '@mlblocks/auth', enabled: true }], {})).toMatchObject([{ enabledBy: 'the config file' }])
    expect(enabledPlugins([], { AUTH_ENABLED: 'false' }, { '@mlblocks/auth': true })).toMatchObject([
      { enabledBy: 'the createServer() option' },
    ])
  })

  it('stops start-up when the switch has a value that is not a boolean', async () => {
    await expect(buildTestServer({}, { env: { AUTH_ENABLED: 'yes' } })).rejects.toThrow("AUTH_ENABLED must be true, false, 1 or 0; got 'yes'.")
  })

  describe('when the package is missing', () => {
    let root: string
    beforeEach(() => {
      root = tempDir('noauth')
    })

    it('stops start-up with one line naming the install command and the off switch', async () => {
      // (@mlblocks/auth itself is checked by the CLI tests, in a process without pnpm's NODE_PATH.)
      await expect(buildTestServer({ plugins: [{ module: '@mlblocks/not-installed' }] }, { root })).rejects.toThrow(
        `@mlblocks/not-installed is enabled (by the config file) but cannot be found from ${root}: run \`pnpm add @mlblocks/not-installed\`, or set NOT_INSTALLED_ENABLED=false to turn it off.`,
      )
    })

    it('starts cleanly with AUTH_ENABLED=false even though the config enables it', async () => {
      const app = await buildTestServer({ plugins: [{ module: '@mlblocks/auth', enabled: true }] }, { root, env: { AUTH_ENABLED: 'false' } })
      expect((await app.inject('/healthz')).statusCode).toBe(200)
      await app.close()
    })

    it('resolves plugins from the app folder, not from core', async () => {
      mkdirSync(join(root, 'node_modules', 'local-plugin'), { recursive: true })
      writeFileSync(join(root, 'node_modules', 'local-plugin', 'package.json'), JSON.stringify({ name: 'local-plugin', type: 'module', exports: './index.js' }))
      writeFileSync(
        join(root, 'node_modules', 'local-plugin', 'index.js'),
        "const p = async (app) => { app.get('/local', { config: { public: true } }, async () => ({ local: true })) }\nexport default p\n",
      )
      const app = await buildTestServer({ plugins: [{ module: 'local-plugin' }] }, { root })
      expect((await app.inject('/local')).json()).toEqual({ local: true })
      await app.close()
    })
  })

  it('loads a CommonJS package whose plugin is `exports.default` (as fastify-metrics ships), from the app folder', async () => {
    const root = tempDir('cjs')
    const dir = join(root, 'node_modules', 'cjs-default-plugin')
    mkdirSync(dir, { recursive: true })
    for (const file of ['package.json', 'index.js']) copyFileSync(new URL(`./fixtures/cjs-default-plugin/${file}`, import.meta.url), join(dir, file))
    const app = await buildTestServer({ blocks: [echoBlock], plugins: [{ module: 'cjs-default-plugin', options: { greeting: 'hi' } }] }, { root })
    expect((await app.inject('/cjs-default')).json()).toEqual({ loaded: true, greeting: 'hi' })
    await app.close()
  })

  it('closes the plugins that did start when a later one fails, then stops start-up with its message', async () => {
    const state = ((globalThis as { __closingFixture?: { opened: number; closed: number } }).__closingFixture ??= { opened: 0, closed: 0 })
    const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname
    await expect(
      buildTestServer({ plugins: [{ module: fixture('closing-plugin.mjs') }, { module: fixture('failing-plugin.mjs') }] }),
    ).rejects.toThrow('FAILING_ENABLED settings are wrong: fix them, or set FAILING_ENABLED=false to turn it off.')
    expect(state).toEqual({ opened: 1, closed: 1 })
  })

  it('stops start-up when a module does not export a plugin', async () => {
    const notPlugin = new URL('./fixtures/not-a-plugin.mjs', import.meta.url).pathname
    await expect(buildTestServer({ plugins: [{ module: notPlugin, env: 'NOPE_ENABLED' }] })).rejects.toThrow(
      `${notPlugin} does not export a Fastify plugin as its default export; fix it, or set NOPE_ENABLED=false to turn it off.`,
    )
  })
})
