import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { zeroShotClassification, zeroShotSettings } from '../src/blocks/zero-shot/index.js'
import { buildServer, forbidNetwork, SEED, tinyModel } from './helpers.js'

const root = new URL('..', import.meta.url).pathname
const ADMIN = { username: 'admin', password: 'playground admin password' }

let model: Awaited<ReturnType<typeof tinyModel>>
let dataDir: string
let allowNetwork: () => void
let app: FastifyInstance
let base: string
let browser: Browser
let page: Page

beforeAll(async () => {
  allowNetwork = forbidNetwork()
  model = await tinyModel()
  dataDir = mkdtempSync(join(tmpdir(), 'mlb-e2e-'))
  app = await buildServer(
    { blocks: [zeroShotClassification(zeroShotSettings({ MLBLOCKS_ZSC_MODEL: model.dir }))], plugins: [{ module: './src/web-page.ts' }] },
    {
      root,
      plugins: {
        '@mlblocks/auth': {
          enabled: true,
          options: { jwtSecret: 'e2e-secret-that-is-long-enough-for-hs256', dataDir, adminUsername: ADMIN.username, adminPassword: ADMIN.password },
        },
      },
    },
  )
  await app.mlblocks.blocks.settled()
  base = await app.listen({ host: '127.0.0.1', port: 0 })
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  })
  page = await browser.newPage({ viewport: { width: 900, height: 900 } })
})

afterAll(async () => {
  await browser?.close()
  await app?.close()
  model?.remove()
  rmSync(dataDir, { recursive: true, force: true })
  allowNetwork?.()
})

it('logs in, classifies the seed example and shows the scores as sorted bars; shows API errors', async () => {
  await page.goto(base)
  // Auth is on: the page asks for a login first.
  await page.locator('#login').waitFor({ state: 'visible' })
  await page.fill('#username', ADMIN.username)
  await page.fill('#password', 'wrong password, surely')
  await page.click('#login button[type=submit]')
  await expect.poll(() => page.textContent('#error')).toBe('Wrong username or password.')
  await page.fill('#password', ADMIN.password)
  await page.click('#login button[type=submit]')
  await page.locator('#classify').waitFor({ state: 'visible' })
  await expect.poll(() => page.textContent('#status')).toBe('Model ready.')

  expect(await page.inputValue('#text')).toBe(SEED.text)
  await page.check('#multiple')
  await page.click('#submit')
  await page.locator('#results li').first().waitFor()
  const bars = await page.$$eval('#results li', (items) =>
    items.map((li) => ({ label: (li as HTMLElement).dataset.label!, score: Number((li as HTMLElement).dataset.score), text: li.textContent })),
  )

  // The same answer as the API gives for the same input, highest first.
  const login = await app.inject({ method: 'POST', url: '/login', payload: ADMIN })
  const api = (
    await app.inject({
      method: 'POST',
      url: '/blocks/zero-shot-classification/predict',
      headers: { authorization: `Bearer ${login.json().token}` },
      payload: { ...SEED, multipleTrue: true },
    })
  ).json()
  expect(bars.map((b) => b.label)).toEqual(api.labels)
  bars.forEach((b) => expect(b.score).toBeCloseTo(api.scores[b.label], 10))
  expect(bars.map((b) => b.score)).toEqual([...bars.map((b) => b.score)].sort((a, b) => b - a))
  expect(bars[0]!.text).toContain('%')
  // Each bar is drawn as wide as its score (after its short transition).
  const widths = () =>
    page.$$eval('#results li', (items) =>
      items.map((li) => li.querySelector('.fill')!.getBoundingClientRect().width / li.querySelector('.track')!.getBoundingClientRect().width),
    )
  await expect.poll(async () => (await widths()).map((w, i) => Math.abs(w - bars[i]!.score) < 0.01)).toEqual(bars.map(() => true))

  mkdirSync(join(root, 'test-results'), { recursive: true })
  await page.screenshot({ path: join(root, 'test-results', 'page.png'), fullPage: true })

  // An error from the API shows in the page: remove every class and classify.
  for (let i = SEED.classes.length; i > 0; i--) await page.click('#classes li button')
  await page.click('#submit')
  await expect.poll(() => page.textContent('#error')).toBe('body.classes must NOT have fewer than 1 items.')
  expect(await page.isVisible('#error')).toBe(true)

  // Logging out revokes the token and brings the login form back.
  await page.click('#logout')
  await page.locator('#login').waitFor({ state: 'visible' })
})
