import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CreateServerOptions, MlblocksConfig } from '@mlblocks/core'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { zeroShotClassification, zeroShotSettings } from '../src/blocks/zero-shot/index.js'
import { buildServer, forbidNetwork, SEED, TINY_MODELS, tinyModel, type TinyKind } from './helpers.js'
import { needs } from '../../../test-support/services.js'

// The page in headless Chromium (Debian's, driven by playwright-core) against an in-process server
// running the REAL zero-shot block on the tiny generated NLI model. Without Chromium (CHROMIUM_PATH,
// default /usr/bin/chromium) the suites are skipped with one line; under CI=true that is a failure.
const browserTests = needs('chromium')

const root = new URL('..', import.meta.url).pathname
const PREDICT = '/blocks/zero-shot-classification/predict'
const ADMIN = { username: 'admin', password: 'playground admin password' }
const TOKEN_KEY = 'mlblocks.token'

const models = {} as Record<TinyKind, Awaited<ReturnType<typeof tinyModel>>>
let allowNetwork: () => void
let browser: Browser
const servers: FastifyInstance[] = []
const contexts: BrowserContext[] = []
let scriptErrors: Error[] = []

beforeAll(async () => {
  if (!browserTests.available) return
  allowNetwork = forbidNetwork()
  for (const kind of TINY_MODELS) models[kind] = await tinyModel(kind)
  browser = await chromium.launch({
    executablePath: browserTests.value,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  })
})

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()))
  await Promise.all(servers.splice(0).map((s) => s.close()))
  // The page's own script never threw.
  expect(scriptErrors.splice(0)).toEqual([])
})

afterAll(async () => {
  await browser?.close()
  for (const model of Object.values(models)) model.remove()
  allowNetwork?.()
})

const realBlock = (kind: TinyKind) => zeroShotClassification(zeroShotSettings({ MLBLOCKS_ZSC_MODEL: models[kind].dir }))

/** Serves `blocks` and the page on a free loopback port; waits for the blocks to load unless told not to. */
async function serve(blocks: MlblocksConfig['blocks'], options: CreateServerOptions = {}, { settle = true } = {}) {
  const app = await buildServer({ blocks, plugins: [{ module: './src/web-page.ts' }] }, { root, ...options })
  servers.push(app)
  if (settle) await app.mlblocks.blocks.settled()
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, base }
}

/** A fresh tab (own sessionStorage) on the page; any script error in the page fails the test. */
async function open(base: string, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 900, height: 900 }, ...options })
  contexts.push(context)
  const page = await context.newPage()
  page.on('pageerror', (err) => scriptErrors.push(err))
  await page.goto(base)
  return page
}

/** The bars as drawn: label, score (data attribute), text, and the fill's width as a share of its track. */
const readBars = (page: Page) =>
  page.$$eval('#results li', (items) =>
    items.map((li) => {
      const el = li as HTMLElement
      const fill = el.querySelector('.fill')!.getBoundingClientRect().width
      const track = el.querySelector('.track')!.getBoundingClientRect().width
      return { label: el.dataset.label!, score: Number(el.dataset.score), text: el.textContent ?? '', width: fill / track }
    }),
  )

/** Classifies the seed example (multipleTrue on) in the page and checks the bars against the API's own answer. */
async function classifySeedAndCheckBars(page: Page, app: FastifyInstance, headers: Record<string, string> = {}) {
  expect(await page.inputValue('#text')).toBe(SEED.text)
  expect(await page.$$eval('#classes li', (items) => items.map((li) => (li as HTMLElement).dataset.class))).toEqual(SEED.classes)
  await page.check('#multiple')
  await page.click('#submit')
  await page.locator('#results li').first().waitFor()

  const api = await app.inject({ method: 'POST', url: PREDICT, headers, payload: { ...SEED, multipleTrue: true } })
  expect(api.statusCode).toBe(200)
  const { scores, labels } = api.json() as { scores: Record<string, number>; labels: string[] }

  const bars = await readBars(page)
  expect(bars.map((b) => b.label)).toEqual(labels) // the API's order: highest first
  expect([...bars.map((b) => b.score)]).toEqual(bars.map((b) => b.score).sort((a, b) => b - a))
  for (const bar of bars) {
    expect(bar.score).toBeCloseTo(scores[bar.label]!, 10)
    expect(bar.text).toBe(`${bar.label}${(scores[bar.label]! * 100).toFixed(1)}%`)
  }
  // Each bar is as wide as its score, once its short transition has run.
  await expect
    .poll(async () => (await readBars(page)).map((b, i) => Math.abs(b.width - bars[i]!.score) < 0.01))
    .toEqual(bars.map(() => true))
  return bars
}

for (const kind of TINY_MODELS) browserTests.describe(`the page, auth off (tiny ${kind}-typed model)`, () => {
  it('classifies the seed example into bars that match the API, and shows a 400 from the API in the page', async () => {
    const { app, base } = await serve([realBlock(kind)])
    const page = await open(base)

    // No login: the classifier and the block's status show at once.
    await page.locator('#classify').waitFor({ state: 'visible' })
    await expect.poll(() => page.textContent('#status')).toBe('Model ready.')
    expect(await page.isVisible('#login')).toBe(false)
    expect(await page.isVisible('#logout')).toBe(false)
    expect(await page.isVisible('#console-link')).toBe(false) // no console without auth

    await classifySeedAndCheckBars(page, app)
    mkdirSync(join(root, 'test-results'), { recursive: true })
    await page.screenshot({ path: join(root, 'test-results', 'page.png'), fullPage: true })

    // Add a class, then remove it again: the list is editable.
    await page.fill('#new-class', 'laptop')
    await page.press('#new-class', 'Enter')
    expect(await page.$$eval('#classes li', (items) => items.map((li) => (li as HTMLElement).dataset.class))).toEqual([...SEED.classes, 'laptop'])
    await page.click('#classes li[data-class="laptop"] button')

    // Remove every class and classify: the API's 400 message shows in the page, and the old bars go.
    for (const name of SEED.classes) await page.click(`#classes li[data-class="${name}"] button`)
    expect(await page.$$('#classes li')).toHaveLength(0)
    const api = (await app.inject({ method: 'POST', url: PREDICT, payload: { text: SEED.text, classes: [], multipleTrue: true } })).json()
    expect(api).toEqual({ statusCode: 400, code: 'MLB_BAD_INPUT', error_message: expect.stringContaining('classes') })
    await page.click('#submit')
    const alert = page.getByRole('alert')
    await expect.poll(() => alert.textContent()).toBe(api.error_message)
    expect(await alert.isVisible()).toBe(true)
    expect(await page.isVisible('#output')).toBe(false)
    await page.screenshot({ path: join(root, 'test-results', 'page-error.png'), fullPage: true })

    // A class again: the error clears and the bars come back.
    await page.fill('#new-class', 'urgent')
    await page.click('#add-class')
    await page.click('#submit')
    await page.locator('#results li[data-label="urgent"]').waitFor()
    expect(await alert.isVisible()).toBe(false)
  })

  it('fits a phone-sized screen', async () => {
    const { base } = await serve([realBlock(kind)])
    const page = await open(base, { viewport: { width: 360, height: 780 }, colorScheme: 'dark' })
    await page.locator('#classify').waitFor({ state: 'visible' })
    await page.click('#submit')
    await page.locator('#results li').first().waitFor()
    // Nothing overflows sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360)
    await page.screenshot({ path: join(root, 'test-results', 'page-phone-dark.png'), fullPage: true })
  })

  it('shows the progress while the model loads, then "ready"; a predict meanwhile shows the 503 in the page', async () => {
    const real = realBlock(kind)
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    // The real block, its load held back after reporting 40%.
    const slow: typeof real = {
      ...real,
      load: async (context) => {
        context.progress(0.4)
        await gate
        return real.load!(context)
      },
    }
    const { app, base } = await serve([slow], {}, { settle: false })
    const page = await open(base)

    await expect.poll(() => page.textContent('#status')).toBe('Loading the model (40%)…')
    expect(await page.getAttribute('#status', 'data-state')).toBe('loading')
    const api = await app.inject({ method: 'POST', url: PREDICT, payload: SEED })
    expect(api.json().code).toBe('MLB_BLOCK_LOADING')
    await page.click('#submit')
    // The API's message, and the wait from its Retry-After header (which a person cannot see).
    await expect.poll(() => page.getByRole('alert').textContent()).toBe(`${api.json().error_message} Try again in ${api.headers['retry-after']} s.`)

    release()
    await app.mlblocks.blocks.settled()
    await expect.poll(() => page.textContent('#status'), { timeout: 10_000 }).toBe('Model ready.')
    await page.click('#submit')
    await page.locator('#results li').first().waitFor()
  })

  it('shows the reason when the model failed to load, when it is tried again, and the 503 of a predict', async () => {
    const missing = `${models[kind].dir}-missing`
    const { app, base } = await serve([zeroShotClassification(zeroShotSettings({ MLBLOCKS_ZSC_MODEL: missing }))], { loadRetry: { firstDelayMs: 600_000 } })
    const page = await open(base)

    const { reason, retry_at } = (await app.inject('/blocks/zero-shot-classification')).json()
    expect(reason).toContain('MLBLOCKS_ZSC_MODEL')
    const at = await page.evaluate((iso) => new Date(iso).toLocaleTimeString(), retry_at as string)
    await expect.poll(() => page.textContent('#status')).toBe(`The model failed to load: ${reason} Trying again at ${at}.`)
    expect(await page.getAttribute('#status', 'data-state')).toBe('failed')

    const api = (await app.inject({ method: 'POST', url: PREDICT, payload: SEED })).json()
    expect(api.code).toBe('MLB_BLOCK_FAILED')
    await page.click('#submit')
    // The message counts down to the next attempt ("Next attempt in 300 s."): a second may pass
    // between the API call above and the page's own, so the count is compared apart from the words.
    const countdown = /Next attempt in (\d+) s\.$/
    const seconds = (text: string | null) => Number(countdown.exec(text ?? '')?.[1])
    await expect.poll(async () => (await page.getByRole('alert').textContent())?.replace(countdown, '')).toBe(api.error_message.replace(countdown, ''))
    const shown = seconds(await page.getByRole('alert').textContent())
    expect(shown).toBeLessThanOrEqual(seconds(api.error_message))
    expect(shown).toBeGreaterThan(seconds(api.error_message) - 30)
  })
})

for (const kind of TINY_MODELS) browserTests.describe(`the page, auth on (tiny ${kind}-typed model)`, () => {
  let dataDir: string
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'mlb-e2e-'))
  })
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it('asks for a login, classifies, goes back to the login form when the token is revoked, and logs out', async () => {
    const { app, base } = await serve([realBlock(kind)], {
      plugins: {
        '@mlblocks/auth': {
          enabled: true,
          options: { jwtSecret: 'e2e-secret-that-is-long-enough-for-hs256', dataDir, adminUsername: ADMIN.username, adminPassword: ADMIN.password },
        },
      },
    })
    const page = await open(base)
    const logIn = async (password: string) => {
      await page.fill('#username', ADMIN.username)
      await page.fill('#password', password)
      await page.click('#login button[type=submit]')
    }
    const token = () => page.evaluate((key) => sessionStorage.getItem(key), TOKEN_KEY)

    // The status call answers 401: the page shows the login form, and no error.
    await page.locator('#login').waitFor({ state: 'visible' })
    expect(await page.isVisible('#classify')).toBe(false)
    expect(await page.isVisible('#error')).toBe(false)
    // Auth is on: the page links the web console that @mlblocks/auth serves.
    await page.locator('#console-link').waitFor({ state: 'visible' })
    expect(await page.getAttribute('#console-link', 'href')).toBe('/console/')
    await page.screenshot({ path: join(root, 'test-results', 'page-login.png'), fullPage: true })

    await logIn('wrong password, surely')
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Wrong username or password.')
    await logIn(ADMIN.password)
    await page.locator('#classify').waitFor({ state: 'visible' })
    await expect.poll(() => page.textContent('#status')).toBe('Model ready.')
    expect(await page.isVisible('#error')).toBe(false)
    expect(await page.inputValue('#password')).toBe('')
    expect(await page.isVisible('#logout')).toBe(true)

    const first = await token()
    expect(first).toEqual(expect.any(String))
    await classifySeedAndCheckBars(page, app, { authorization: `Bearer ${first}` })

    // The token is revoked behind the page's back: the next call answers 401, and the page asks for a login again.
    expect((await app.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${first}` } })).statusCode).toBe(204)
    await page.click('#submit')
    await page.locator('#login').waitFor({ state: 'visible' })
    expect(await page.getByRole('alert').textContent()).toBe('Your session has ended. Log in again.')
    expect(await token()).toBeNull()

    // Log in again, then "Log out": the token is revoked on the server and forgotten by the page.
    await logIn(ADMIN.password)
    await page.locator('#classify').waitFor({ state: 'visible' })
    const second = await token()
    expect(second).toEqual(expect.any(String))
    await page.click('#logout')
    await page.locator('#login').waitFor({ state: 'visible' })
    expect(await token()).toBeNull()
    const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${second}` } })
    expect(me.statusCode).toBe(401)
  })
  it('as a public demo (AUTH_PUBLIC_BLOCKS): opens on the classifier with no login, and shows the 429 once the address has used its quota', async () => {
    const { app, base } = await serve([realBlock(kind)], {
      plugins: {
        '@mlblocks/auth': {
          enabled: true,
          options: { jwtSecret: 'e2e-secret-that-is-long-enough-for-hs256', dataDir: mkdtempSync(join(dataDir, 'public-')), publicBlocks: 'zero-shot-classification', anonymousRateLimit: 3 },
        },
      },
    })
    const page = await open(base)
    await page.locator('#classify').waitFor({ state: 'visible' })
    await expect.poll(() => page.textContent('#status')).toBe('Model ready.')
    expect(await page.isVisible('#login')).toBe(false)
    expect(await page.isVisible('#logout')).toBe(false)
    await classifySeedAndCheckBars(page, app) // two predictions from 127.0.0.1: the page's and the API's
    const [third] = await Promise.all([page.waitForResponse((res) => res.url().endsWith(PREDICT)), page.click('#submit')])
    expect(third.status()).toBe(200)
    expect(await page.isVisible('#error')).toBe(false)
    await page.click('#submit') // the fourth: over the quota
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/^Anonymous callers may make 3 predictions a minute from one address\. Retry after (\d+) seconds, or send a credential\. Try again in \1 s\.$/)
    expect(await page.isVisible('#login')).toBe(false) // a 429 is not a reason to log in
    // Everything else stays private.
    expect((await app.inject({ url: '/admin/users' })).statusCode).toBe(401)
  })
})
