import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfigFile } from '@mlblocks/core'
import { buildServer } from './helpers.js'

describe('the web page plugin (from mlblocks.config.ts)', () => {
  let app: FastifyInstance
  beforeAll(async () => {
    const { config, path } = await loadConfigFile(undefined, new URL('..', import.meta.url).pathname)
    // The real config, minus the model: the page needs no block to be served.
    app = await buildServer({ ...config, blocks: [] }, { root: new URL('..', import.meta.url).pathname })
    expect(path).toMatch(/mlblocks\.config\.ts$/)
  })
  afterAll(() => app?.close())

  it.each([
    ['/', 'text/html', '<form id="classify"'],
    ['/app.js', 'text/javascript', "const BLOCK = 'zero-shot-classification'"],
    ['/styles.css', 'text/css', '.bars'],
  ])('serves %s as %s with a strict content security policy', async (url, type, content) => {
    const res = await app.inject(url)
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain(type)
    expect(res.body).toContain(content)
    expect(res.headers['content-security-policy']).toContain("script-src 'self'")
    expect(res.headers['content-security-policy']).not.toContain('unsafe-inline')
    expect(res.headers['x-content-type-options']).toBe('nosniff')
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
