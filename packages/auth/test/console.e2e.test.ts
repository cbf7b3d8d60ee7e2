/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, as, bearer, buildAuthServer, createBackend, login, SECRET, type Backend } from './helpers.js'
import { needs } from '../../../test-support/services.js'

// The web console in headless Chromium (Debian's, through playwright-core) against a real server on
// the embedded database: every flow of the console, as a person clicks it. Without Chromium
// (CHROMIUM_PATH, default /usr/bin/chromium) the suite is skipped with one line; under CI=true that fails.
const browserTests = needs('chromium')
const SHOTS = new URL('../test-results/', import.meta.url).pathname

const ALICE = { username: 'alice', password: 'alice has a long password' }
const ALICE_NEW_PASSWORD = 'alice changed her long password'

let backend: Backend
let app: FastifyInstance
let base: string
let browser: Browser
const contexts: BrowserContext[] = []
const scriptErrors: string[] = []

beforeAll(async () => {
  if (!browserTests.available) return
  mkdirSync(SHOTS, { recursive: true })
  backend = await createBackend('embedded')
  // One failed login starts alice's back-off, so the lockout flow needs few attempts.
  app = await buildAuthServer({ backend, options: { loginFreeAttempts: 1 } })
  base = await app.listen({ host: '127.0.0.1', port: 0 })
  browser = await chromium.launch({
    executablePath: browserTests.value,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  })
})

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close()))
  await browser?.close()
  await app?.close()
  await backend?.drop()
})

/** A fresh tab on the console. Confirmations are accepted; script errors and CSP violations are collected. */
async function open(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, permissions: ['clipboard-read', 'clipboard-write'] })
  contexts.push(context)
  const page = await context.newPage()
  page.on('pageerror', (err) => scriptErrors.push(err.message))
  // Chromium logs every 4xx the API answers as "Failed to load resource": those are the API's answers
  // the page shows, not script errors. A CSP violation ("Refused to …") or a script error is.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) scriptErrors.push(message.text())
  })
  page.on('dialog', (dialog) => void dialog.accept())
  await page.goto(`${base}/console/`)
  return page
}

async function logIn(page: Page, { username, password }: { username: string; password: string }) {
  const form = page.locator('#login')
  await form.getByLabel('Username').fill(username)
  await form.getByLabel('Password').fill(password)
  await form.getByRole('button', { name: 'Log in' }).click()
  await page.locator('#nav').waitFor({ state: 'visible' })
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `console-${name}.png`), fullPage: true })
const notice = (page: Page) => page.locator('#notice')
const alert = (page: Page) => page.getByRole('alert')

/** Ticks the named checkboxes inside a picker (a fieldset with that legend) of a form. */
async function tick(page: Page, formId: string, names: string[]) {
  for (const name of names) await page.locator(`#${formId} label.check`, { hasText: new RegExp(`^\\s*${name}$`) }).locator('input').check()
}

/** The key of the "shown once" dialog, which it then closes. */
async function takeSecret(page: Page): Promise<string> {
  const dialog = page.locator('#secret')
  await dialog.waitFor({ state: 'visible' })
  await expect.poll(() => dialog.textContent()).toContain('you will not see it again')
  const key = await page.inputValue('#secret-value')
  await page.getByRole('button', { name: 'Copy' }).click()
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(key)
  await page.getByRole('button', { name: 'I have stored it' }).click()
  await dialog.waitFor({ state: 'hidden' })
  await expect.poll(() => page.inputValue('#secret-value')).toBe('') // gone from the page once closed
  return key
}

const predict = (credential: string, block: string) =>
  app.inject({ method: 'POST', url: `/blocks/${block}/predict`, headers: bearer(credential), payload: { text: 'hi' } })

browserTests.describe('the web console (embedded database)', () => {
  let adminPage: Page
  let alicePage: Page
  let aliceId: string
  let scopedKey: string

  it('serves its files with a strict Content-Security-Policy, and only its files', async () => {
    const page = await app.inject('/console/')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    )
    expect(page.headers['x-frame-options']).toBe('DENY')
    expect(page.body).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=/) // nothing inline
    expect((await app.inject('/console')).headers.location).toBe('/console/')
    expect((await app.inject('/console/../package.json')).statusCode).toBe(404)
    expect((await app.inject('/console/index.html')).statusCode).toBe(404)
  })

  it('an admin logs in, creates a user and a group, and issues a scoped key shown once', async () => {
    adminPage = await open()
    await shot(adminPage, 'login')
    await logIn(adminPage, ADMIN)
    expect(await adminPage.textContent('#who')).toBe(`${ADMIN.username} (admin)`)
    // The token lives in the page only: nothing in storage.
    expect(await adminPage.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0)

    // A user with her own grant of `echo`.
    const create = adminPage.locator('#user-create')
    await create.locator('input[name=username]').fill(ALICE.username)
    await create.locator('input[name=password]').fill(ALICE.password)
    await tick(adminPage, 'user-create', ['echo'])
    await create.getByRole('button', { name: 'Create user' }).click()
    await expect.poll(() => notice(adminPage).textContent()).toBe('Created alice (user).')
    const row = adminPage.locator('#users-table tr[data-user="alice"]')
    await expect.poll(() => row.textContent()).toContain('echo')
    aliceId = (await as(app, await login(app))({ url: '/admin/users' })).json().find((u: { username: string }) => u.username === 'alice').user_id

    // The same username again: the API's 409, in words.
    await create.locator('input[name=username]').fill(ALICE.username)
    await create.locator('input[name=password]').fill(ALICE.password)
    await create.getByRole('button', { name: 'Create user' }).click()
    await expect.poll(() => alert(adminPage).textContent()).toBe("The username 'alice' is taken.")
    await create.locator('input[name=username]').fill('')
    await shot(adminPage, 'users')

    // A group that grants `other`, with alice in it.
    await adminPage.getByRole('button', { name: 'Groups' }).click()
    const group = adminPage.locator('#group-create')
    await group.getByLabel('Name').fill('analysts')
    await tick(adminPage, 'group-create', ['other'])
    await group.getByRole('button', { name: 'Create group' }).click()
    await expect.poll(() => notice(adminPage).textContent()).toBe('Created the group analysts.')
    await adminPage.getByRole('button', { name: 'Edit group analysts' }).click()
    await adminPage.locator('#group-edit-members label.check', { hasText: 'alice' }).locator('input').check()
    await adminPage.locator('#group-edit').getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => adminPage.locator('#groups-table tr[data-group="analysts"]').textContent()).toContain('alice')
    await shot(adminPage, 'groups')

    // A key for alice scoped to `echo`, shown once.
    await adminPage.getByRole('button', { name: 'API keys' }).click()
    const issue = adminPage.locator('#key-create')
    await issue.getByLabel('For').selectOption({ label: 'alice (user)' })
    await issue.getByLabel('Name').fill('etl')
    await tick(adminPage, 'key-create', ['echo'])
    await issue.getByRole('button', { name: 'Issue key' }).click()
    scopedKey = await takeSecret(adminPage)
    expect(scopedKey).toMatch(/^mlb_[0-9A-Za-z]{36}$/)
    const keyRow = adminPage.locator('#keys-table tr[data-key="etl"]')
    await expect.poll(() => keyRow.textContent()).toContain('alice')
    expect(await keyRow.textContent()).toContain(scopedKey.slice(0, 8))
    expect(await keyRow.textContent()).not.toContain(scopedKey) // only a prefix
    expect(await keyRow.textContent()).toContain(ADMIN.username) // who issued it
    await shot(adminPage, 'keys')

    expect((await predict(scopedKey, 'echo')).statusCode).toBe(200)
    const outside = await predict(scopedKey, 'other') // alice may, through her group; the key's scope may not
    expect(outside.statusCode).toBe(403)
    expect(outside.json().code).toBe('MLB_BLOCK_NOT_GRANTED')
  })

  it('the user logs in, sees what she may call and why, creates and rotates her own key, calls a block with it, changes her password', async () => {
    alicePage = await open()
    await logIn(alicePage, ALICE)
    // No admin sections for her.
    expect(await alicePage.getByRole('button', { name: 'Users' }).isVisible()).toBe(false)
    await expect.poll(() => alicePage.locator('#me-access tbody').textContent()).toContain('echo')
    const access = await alicePage.$$eval('#me-access tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)))
    expect(access).toEqual([
      ['echo', 'your own grant'],
      ['other', 'the group analysts'],
    ])

    const create = alicePage.locator('#me-key-create')
    await create.getByLabel('Name').fill('laptop')
    await create.getByRole('button', { name: 'Create key' }).click()
    const first = await takeSecret(alicePage)
    expect((await predict(first, 'other')).statusCode).toBe(200)

    // Rotate with no grace: the new secret works at once, the old one stops.
    await alicePage.getByRole('button', { name: 'Rotate the key laptop' }).click()
    await alicePage.locator('#rotate').getByLabel(/Grace period/).fill('0')
    await alicePage.locator('#rotate').getByRole('button', { name: 'Rotate' }).click()
    const second = await takeSecret(alicePage)
    expect(second).not.toBe(first)
    expect((await predict(second, 'echo')).statusCode).toBe(200)
    await expect.poll(async () => (await predict(first, 'echo')).statusCode).toBe(401)
    await shot(alicePage, 'my-account')

    // Her password: the page carries on with a fresh token, her other logins end.
    const elsewhere = await login(app, ALICE.username, ALICE.password)
    const password = alicePage.locator('#me-password')
    await password.getByLabel('Current password').fill(ALICE.password)
    await password.getByLabel('New password').fill(ALICE_NEW_PASSWORD)
    await password.getByRole('button', { name: 'Change password' }).click()
    await expect.poll(() => notice(alicePage).textContent()).toBe('Your password is changed. Your other logins have ended.')
    expect((await as(app, elsewhere)({ url: '/me' })).statusCode).toBe(401)
    await alicePage.getByRole('button', { name: 'My account' }).click() // still logged in, with the new token
    await expect.poll(() => alicePage.locator('#me-keys-table tbody').textContent()).toContain('laptop')
    expect(await alert(alicePage).isVisible()).toBe(false)
    // A wrong current password is the API's message, in the page.
    await password.getByLabel('Current password').fill('not her password at all')
    await password.getByLabel('New password').fill('another long password')
    await password.getByRole('button', { name: 'Change password' }).click()
    await expect.poll(() => alert(alicePage).isVisible()).toBe(true)
  })

  it('the admin revokes a key and the next call fails; lifts a lockout; the audit log shows each step; the routes are listed', async () => {
    await adminPage.getByRole('button', { name: 'API keys' }).click()
    await adminPage.getByRole('button', { name: 'Revoke the key etl' }).click() // the confirmation is accepted
    await expect.poll(() => notice(adminPage).textContent()).toBe('Revoked the key etl.')
    await expect.poll(async () => (await predict(scopedKey, 'echo')).statusCode).toBe(401)

    // alice mistypes her password until she is locked out; the admin lifts it; she logs in at once.
    let status = 0
    for (let i = 0; i < 5 && status !== 429; i++) {
      status = (await app.inject({ method: 'POST', url: '/login', payload: { username: 'alice', password: 'wrong wrong wrong' } })).statusCode
    }
    expect(status).toBe(429)
    expect((await app.inject({ method: 'POST', url: '/login', payload: { username: 'alice', password: ALICE_NEW_PASSWORD } })).statusCode).toBe(429)
    await adminPage.getByRole('button', { name: 'Users' }).click()
    await adminPage.getByRole('button', { name: 'Lift the login lockout of alice' }).click()
    await expect.poll(() => notice(adminPage).textContent()).toContain('alice can log in again at once')
    expect((await app.inject({ method: 'POST', url: '/login', payload: { username: 'alice', password: ALICE_NEW_PASSWORD } })).statusCode).toBe(200)

    // The audit log: every step above, filtered and paged.
    await adminPage.getByRole('button', { name: 'Audit log' }).click()
    await expect.poll(() => adminPage.locator('#audit-table tbody tr').count()).toBeGreaterThan(0)
    const actions = await adminPage.$$eval('#audit-table tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.action))
    for (const action of ['user.created', 'api_key.issued', 'api_key.revoked', 'user.unlocked']) expect(actions).toContain(action)
    await shot(adminPage, 'audit')
    const filter = adminPage.locator('#audit-filter')
    await filter.getByLabel('Action').fill('api_key.revoked')
    await filter.getByRole('button', { name: 'Show' }).click()
    await expect.poll(() => adminPage.$$eval('#audit-table tbody tr', (rows) => [...new Set(rows.map((r) => (r as HTMLElement).dataset.action))])).toEqual(['api_key.revoked'])
    // An action the server does not know: its 400, in the page.
    await filter.getByLabel('Action').fill('no.such.action')
    await filter.getByRole('button', { name: 'Show' }).click()
    await expect.poll(() => alert(adminPage).textContent()).toContain('action')
    await filter.getByLabel('Action').fill('')

    await adminPage.getByRole('button', { name: 'Routes' }).click()
    await expect.poll(() => adminPage.locator('#routes-table tbody tr').count()).toBeGreaterThan(5)
    const routes = await adminPage.$$eval('#routes-table tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent).join(' ')))
    expect(routes).toContain('POST /login public')
    expect(routes).toContain('GET /admin/users admin')
    expect(routes).toContain('POST /blocks/echo/predict block:echo')
    await shot(adminPage, 'routes')
  })

  it('shows the last-admin rule as such, and asks before it deletes', async () => {
    await adminPage.getByRole('button', { name: 'Users' }).click()
    let asked = ''
    adminPage.once('dialog', (dialog) => (asked = dialog.message()))
    await adminPage.getByRole('button', { name: `Delete ${ADMIN.username}` }).click()
    await expect.poll(() => alert(adminPage).textContent()).toBe('This is the last active admin: create or promote another admin first.')
    expect(asked).toContain(`Delete ${ADMIN.username}?`)
    expect((await app.inject({ method: 'POST', url: '/login', payload: ADMIN })).statusCode).toBe(200)
  })

  it('goes back to the login form when its token is revoked, and logs out', async () => {
    // The admin disables and re-enables alice: every token she had ends, the console's included.
    const admin = as(app, await login(app))
    await admin({ method: 'PATCH', url: `/admin/users/${aliceId}`, payload: { disabled: true } })
    await admin({ method: 'PATCH', url: `/admin/users/${aliceId}`, payload: { disabled: false } })
    await alicePage.getByRole('button', { name: 'My account' }).click()
    await expect.poll(() => alert(alicePage).textContent()).toBe('Your session has ended (it expired, or it was revoked). Log in again.')
    expect(await alicePage.locator('#login').isVisible()).toBe(true)

    await adminPage.getByRole('button', { name: 'Log out' }).click()
    await expect.poll(() => notice(adminPage).textContent()).toBe('Logged out.')
    expect(await adminPage.locator('#login').isVisible()).toBe(true)
    expect(await adminPage.locator('#nav').isVisible()).toBe(false)
  })

  it('works from the keyboard alone, and every control has a label', async () => {
    const page = await open()
    await page.keyboard.press('Tab') // the username field is focused on load; Tab moves on
    await page.keyboard.press('Shift+Tab')
    await page.keyboard.type(ADMIN.username)
    await page.keyboard.press('Tab')
    await page.keyboard.type(ADMIN.password)
    await page.keyboard.press('Enter')
    await page.locator('#nav').waitFor({ state: 'visible' })
    // Focus lands on the current section's button; Tab reaches the next one, Enter opens it.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Users')
    const focused: string[] = []
    for (let i = 0; i < 10 && focused.at(-1) !== 'Groups'; i++) {
      await page.keyboard.press('Tab')
      focused.push((await page.evaluate(() => document.activeElement?.textContent?.trim())) ?? '')
    }
    expect(focused.at(-1), focused.join(' | ')).toBe('Groups')
    await page.keyboard.press('Enter')
    await expect.poll(() => page.locator('#view-groups').isVisible()).toBe(true)

    for (const view of ['Users', 'Groups', 'API keys', 'Audit log', 'Routes', 'My account']) {
      await page.getByRole('button', { name: view, exact: true }).click()
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll('main input, main select, main button, dialog input, dialog button, header button')]
          .filter((el) => (el as HTMLElement).offsetParent !== null || el.closest('dialog'))
          .filter((el) => {
            const control = el as HTMLInputElement
            const named = control.labels?.length || control.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent?.trim())
            return !named
          })
          .map((el) => el.outerHTML.slice(0, 80)),
      )
      expect(unlabelled, view).toEqual([])
    }
  })

  it('raised no script error and no Content-Security-Policy violation in any page', () => {
    expect(scriptErrors).toEqual([])
  })
})

describe('the console turned off', () => {
  it('AUTH_CONSOLE_ENABLED=false serves none of its files; the API is unchanged', async () => {
    const off = await createBackend('embedded')
    const server = await buildAuthServer({ backend: off, env: { AUTH_CONSOLE_ENABLED: 'false' } })
    try {
      for (const url of ['/console/', '/console/console.js', '/console/console.css', '/console']) expect((await server.inject(url)).statusCode).toBe(404)
      expect((await server.inject({ method: 'POST', url: '/login', payload: ADMIN })).statusCode).toBe(200)
    } finally {
      await server.close()
      await off.drop()
    }
  })
})

describe('the console setting', () => {
  it('refuses a value that is not a switch, naming it and the off switch', async () => {
    const { resolveSettings } = await import('../src/settings.js')
    const env = { AUTH_JWT_SECRET: SECRET, AUTH_CONSOLE_ENABLED: 'maybe' }
    expect(() => resolveSettings({ env })).toThrow("AUTH_CONSOLE_ENABLED must be true, false, 1 or 0; got 'maybe': fix it, or set AUTH_ENABLED=false to turn auth off.")
    expect(resolveSettings({ env: { ...env, AUTH_CONSOLE_ENABLED: 'FALSE' } }).console).toBe(false)
    expect(resolveSettings({ env: { AUTH_JWT_SECRET: env.AUTH_JWT_SECRET } }).console).toBe(true)
  })
})
