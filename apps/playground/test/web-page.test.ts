import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfigFile } from '@mlblocks/core'
import { buildServer } from './helpers.js'

const root = new URL('..', import.meta.url).pathname
const FILES = [
  ['/', 'text/html', '<form id="classify"'],
  ['/app.js', 'text/javascript', "const BLOCK = 'zero-shot-classification'"],
  ['/styles.css', 'text/css', '.bars'],
] as const

describe('the web page plugin (from mlblocks.config.ts)', () => {
  let app: FastifyInstance
  beforeAll(async () => {
    const { config, path } = await loadConfigFile(undefined, root)
    // The real config, minus the model: the page needs no block to be served.
    app = await buildServer({ ...config, blocks: [] }, { root })
    expect(path).toMatch(/mlblocks\.config\.ts$/)
  })
  afterAll(() => app?.close())

  it.each(FILES)('serves %s as %s with a strict content security policy', async (url, type, content) => {
    const res = await app.inject(url)
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain(type)
    expect(res.body).toContain(content)
    expect(res.headers['content-security-policy']).toContain("script-src 'self'")
    expect(res.headers['content-security-policy']).not.toContain('unsafe-inline')
    expect(res.headers['x-content-type-options']).toBe('nosniff')
  })

  it('keeps the policy as strict as it was: same-origin only, never framed, no referrer, no cache', async () => {
    const res = await app.inject('/')
    const directives = String(res.headers['content-security-policy']).split(';').map((d) => d.trim()).filter(Boolean).sort()
    expect(directives).toEqual(
      ["base-uri 'none'", "connect-src 'self'", "default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "img-src 'self'", "script-src 'self'", "style-src 'self'"],
    )
    expect(res.headers).toMatchObject({ 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'cache-control': 'no-cache' })
  })

  it('leaves the API answers without the page headers (the page plugin is encapsulated)', async () => {
    const res = await app.inject('/healthz')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-security-policy']).toBeUndefined()
  })

  it('serves no other file from the folder: 404', async () => {
    expect((await app.inject('/index.html')).statusCode).toBe(404)
  })

  it('keeps the page out of the API docs', async () => {
    const doc = (await app.inject('/docs/json')).json()
    expect(doc.paths['/']).toBeUndefined()
  })

  it('has no inline script or style the policy would block', async () => {
    const html = (await app.inject('/')).body
    expect(html).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|<style/)
  })
})

describe('the web page plugin with auth on', () => {
  let app: FastifyInstance
  let dataDir: string
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mlb-web-page-'))
    const { config } = await loadConfigFile(undefined, root)
    app = await buildServer(
      { ...config, blocks: [] },
      { root, plugins: { '@mlblocks/auth': { enabled: true, options: { jwtSecret: 'web-page-test-secret-of-at-least-32-bytes', dataDir } } } },
    )
  })
  afterAll(async () => {
    await app?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it.each(FILES)('serves %s (%s) without a credential: 200', async (url, type) => {
    const res = await app.inject(url)
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain(type)
  })

  it('while the API answers 401 MLB_UNAUTHORIZED without one (how the page detects auth)', async () => {
    const res = await app.inject('/blocks')
    expect(res.statusCode).toBe(401)
    expect(res.json()).toEqual({ statusCode: 401, code: 'MLB_UNAUTHORIZED', error_message: expect.any(String) })
  })
})
