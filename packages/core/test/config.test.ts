import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createServer, loadConfigFile, resolveServerSettings } from '../src/index.js'
import { tempDir } from './helpers.js'

const fixtures = new URL('./fixtures/', import.meta.url).pathname

describe('loadConfigFile', () => {
  it('loads mlblocks.config.ts with no build step, TypeScript imports included', async () => {
    const { config, path } = await loadConfigFile(undefined, join(fixtures, 'app'))
    expect(path).toBe(join(fixtures, 'app', 'mlblocks.config.ts'))
    expect(config.blocks?.map((b) => b.name)).toEqual(['echo', 'slow'])
    const app = await createServer(config, { env: {}, server: { logLevel: 'silent' } })
    await app.mlblocks.blocks.settled()
    const res = await app.inject({ method: 'POST', url: '/blocks/echo/predict', payload: { text: 'from ts' } })
    expect(res.json()).toEqual({ text: 'from ts' })
    await app.close()
  })

  it('loads mlblocks.config.js', async () => {
    const { config } = await loadConfigFile(undefined, join(fixtures, 'app-js'))
    expect(config.blocks?.map((b) => b.name)).toEqual(['upper'])
  })

  it('loads an explicit --config path relative to the working directory', async () => {
    const { path } = await loadConfigFile('app-js/mlblocks.config.js', fixtures)
    expect(path).toBe(join(fixtures, 'app-js', 'mlblocks.config.js'))
  })

  it('turns a syntax error into one line that names the file', async () => {
    const error = await loadConfigFile(undefined, join(fixtures, 'broken')).catch((e: Error) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toMatch(new RegExp(`^Could not load ${join(fixtures, 'broken', 'mlblocks.config.ts')}: .+`))
    expect((error as Error).message).not.toContain('\n')
  })

  it('refuses a default export that is not a config object', async () => {
    await expect(loadConfigFile(undefined, join(fixtures, 'not-object'))).rejects.toThrow(
      `${join(fixtures, 'not-object', 'mlblocks.config.js')}: the default export is not an object. Export defineConfig({ server, blocks, plugins }) as the default.`,
    )
  })

  it('stops with one line on a config file with no default export', async () => {
    const path = join(fixtures, 'no-default', 'mlblocks.config.js')
    await expect(loadConfigFile(undefined, join(fixtures, 'no-default'))).rejects.toThrow(
      `${path} has no default export. Add \`export default defineConfig({ server, blocks, plugins })\`.`,
    )
  })

  it('stops with one line on a config file that lists no blocks, rather than serving nothing', async () => {
    const path = join(fixtures, 'no-blocks', 'mlblocks.config.ts')
    await expect(loadConfigFile(undefined, join(fixtures, 'no-blocks'))).rejects.toThrow(
      `${path} lists no blocks, so there would be nothing to serve. Add your blocks to \`blocks: [...]\` in its defineConfig().`,
    )
  })

  it('says where it looked when there is no config file', async () => {
    const empty = tempDir('empty')
    await expect(loadConfigFile(undefined, empty)).rejects.toThrow(
      `No mlblocks.config.ts, mlblocks.config.mts, mlblocks.config.js or mlblocks.config.mjs in ${empty}. Create one, or pass --config FILE.`,
    )
    await expect(loadConfigFile('missing.ts', empty)).rejects.toThrow(`Config file ${join(empty, 'missing.ts')} does not exist.`)
  })
})

describe('server settings', () => {
  it('defaults to 127.0.0.1:3000, info, 1 MiB, metrics on', () => {
    expect(resolveServerSettings({}, {})).toEqual({ port: 3000, host: '127.0.0.1', logLevel: 'info', logFormat: 'auto', bodyLimit: 1048576, trustProxy: false, metrics: true })
  })

  it('takes, highest first: overrides, environment, config file', () => {
    const config = { port: 4000, host: '0.0.0.0', logLevel: 'debug' as const, bodyLimit: 10, metrics: true }
    const env = { PORT: '5000', LOG_LEVEL: 'warn', MLBLOCKS_BODY_LIMIT: '2048', MLBLOCKS_METRICS_ENABLED: '0' }
    expect(resolveServerSettings(config, env)).toEqual({ port: 5000, host: '0.0.0.0', logLevel: 'warn', logFormat: 'auto', bodyLimit: 2048, trustProxy: false, metrics: false })
    expect(resolveServerSettings(config, env, { port: 6000 })).toMatchObject({ port: 6000, logLevel: 'warn' })
  })

  it.each([
    [{ PORT: 'abc' }, "PORT must be a whole number from 0 to 65535; got 'abc'."],
    [{ PORT: '70000' }, "PORT must be a whole number from 0 to 65535; got '70000'."],
    [{ MLBLOCKS_BODY_LIMIT: '1.5' }, "MLBLOCKS_BODY_LIMIT must be a whole number from 1 to 2147483647; got '1.5'."],
    [{ LOG_LEVEL: 'loud' }, "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got 'loud'."],
    [{ LOG_FORMAT: 'xml' }, "LOG_FORMAT must be json, pretty or auto (readable on a terminal, JSON otherwise); got 'xml'."],
  ])('stops on a bad environment value %o with one line', (env, message) => {
    expect(() => resolveServerSettings({}, env)).toThrow(message)
  })
})
