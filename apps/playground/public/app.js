// @ts-check
/** The playground page: logs in when auth is on, classifies, draws the scores as bars. */

const BLOCK = 'zero-shot-classification'
const TOKEN_KEY = 'mlblocks.token'

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))

const status = $('status')
const loginForm = /** @type {HTMLFormElement} */ ($('login'))
const classifyForm = /** @type {HTMLFormElement} */ ($('classify'))
const classesList = $('classes')
const newClass = /** @type {HTMLInputElement} */ ($('new-class'))
const errorBox = $('error')
const output = $('output')
const results = $('results')
const logoutButton = /** @type {HTMLButtonElement} */ ($('logout'))
const consoleLink = $('console-link')
const submit = /** @type {HTMLButtonElement} */ ($('submit'))

/** @type {string[]} */
let classes = ['urgent', 'not urgent', 'phone', 'tablet', 'computer']

/** Polls the block status while the model loads. @type {ReturnType<typeof setTimeout> | undefined} */
let statusTimer

/** @typedef {{ statusCode: number, code: string, error_message: string }} ErrorReply */

class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

/**
 * Calls the API with the login token, if any. Throws an ApiError carrying the server's message.
 * @param {string} path @param {{ method?: string, body?: unknown }} [options]
 */
async function api(path, { method = 'GET', body } = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' }
  const token = sessionStorage.getItem(TOKEN_KEY)
  if (token) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  /** @type {Response} */
  let res
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  } catch {
    throw new ApiError(0, 'MLB_NETWORK', 'Could not reach the server. Check that it is running, then try again.')
  }
  const text = await res.text()
  /** @type {any} */
  let data
  try {
    data = text ? JSON.parse(text) : undefined
  } catch {
    // Not JSON: e.g. a proxy's HTML error page.
    data = undefined
  }
  if (!res.ok) {
    const e = /** @type {Partial<ErrorReply>} */ (data ?? {})
    const code = e.code ?? 'MLB_ERROR'
    const message = e.error_message ?? `The server answered ${res.status}.`
    // Waiting helps while the model loads or a rate limit resets, not when it failed to load.
    const retry = res.status === 429 || code === 'MLB_BLOCK_LOADING' ? Number(res.headers.get('retry-after')) : 0
    throw new ApiError(res.status, code, retry > 0 ? `${message} Try again in ${retry} s.` : message)
  }
  if (text && data === undefined) throw new ApiError(res.status, 'MLB_ERROR', 'The server sent an answer that is not JSON.')
  return data
}

/** @param {string} message */
function showError(message) {
  errorBox.textContent = message
  errorBox.hidden = false
}
function clearError() {
  errorBox.hidden = true
  errorBox.textContent = ''
}

/** @param {unknown} err */
function handle(err) {
  if (err instanceof ApiError && err.status === 401) {
    // No credential (auth is on), or it expired or was revoked: log in (again).
    const hadToken = sessionStorage.getItem(TOKEN_KEY) !== null
    sessionStorage.removeItem(TOKEN_KEY)
    showLogin()
    if (hadToken) showError('Your session has ended. Log in again.')
    return
  }
  showError(err instanceof Error ? err.message : String(err))
  if (err instanceof ApiError && (err.code === 'MLB_BLOCK_LOADING' || err.code === 'MLB_BLOCK_FAILED')) refreshStatus()
}

/**
 * With auth on, links the web console (served by @mlblocks/auth at /console/ unless
 * AUTH_CONSOLE_ENABLED=false turned it off): asked once, with a HEAD request.
 * @type {Promise<void> | undefined}
 */
let consoleChecked
function offerConsole() {
  consoleChecked ??= fetch('/console/', { method: 'HEAD' })
    .then((res) => {
      consoleLink.hidden = !res.ok
    })
    .catch(() => undefined)
}

function showLogin() {
  offerConsole()
  clearTimeout(statusTimer)
  loginForm.hidden = false
  classifyForm.hidden = true
  output.hidden = true
  logoutButton.hidden = true
  status.textContent = 'Log in to use the model.'
  delete status.dataset.state
  $('username').focus()
}

function showClassifier() {
  loginForm.hidden = true
  classifyForm.hidden = false
  logoutButton.hidden = !sessionStorage.getItem(TOKEN_KEY)
  if (sessionStorage.getItem(TOKEN_KEY)) offerConsole()
}

/** Shows the block's load status; polls while it is loading. */
async function refreshStatus() {
  clearTimeout(statusTimer)
  try {
    const block = await api(`/blocks/${BLOCK}`)
    showClassifier()
    status.dataset.state = block.status
    if (block.status === 'ready') status.textContent = 'Model ready.'
    else if (block.status === 'failed') {
      status.textContent = `The model failed to load: ${block.reason ?? 'no reason given'}`
      // The server tries again by itself: say when, and look again once it has.
      const retryAt = typeof block.retry_at === 'string' ? Date.parse(block.retry_at) : Number.NaN
      if (Number.isFinite(retryAt)) {
        status.textContent += ` Trying again at ${new Date(retryAt).toLocaleTimeString()}.`
        statusTimer = setTimeout(refreshStatus, Math.min(Math.max(retryAt - Date.now(), 0) + 1000, 60_000))
      }
    }
    else {
      const pct = typeof block.progress === 'number' ? ` (${Math.round(block.progress * 100)}%)` : ''
      status.textContent = `Loading the model${pct}…`
      statusTimer = setTimeout(refreshStatus, 2000)
    }
  } catch (err) {
    if (err instanceof ApiError && err.status !== 401) {
      status.dataset.state = 'failed'
      status.textContent = 'Could not get the model status.'
    }
    handle(err)
  }
}

function renderClasses() {
  classesList.replaceChildren(
    ...classes.map((name, i) => {
      const li = document.createElement('li')
      li.dataset.class = name
      const label = document.createElement('span')
      label.textContent = name
      const remove = document.createElement('button')
      remove.type = 'button'
      remove.textContent = '×'
      remove.setAttribute('aria-label', `Remove ${name}`)
      remove.addEventListener('click', () => {
        classes = classes.filter((_, j) => j !== i)
        renderClasses()
        // Keep the keyboard focus in the list: on the next class's button, else the new-class box.
        const next = classesList.querySelectorAll('button')[Math.min(i, classes.length - 1)]
        ;(next ?? newClass).focus()
      })
      li.append(label, remove)
      return li
    }),
  )
}

function addClass() {
  const name = newClass.value.trim()
  if (name && !classes.includes(name)) classes = [...classes, name]
  newClass.value = ''
  renderClasses()
  newClass.focus()
}

/** @param {{ scores: Record<string, number>, labels: string[] }} reply */
function renderScores(reply) {
  results.replaceChildren(
    ...reply.labels.map((label) => {
      const score = reply.scores[label] ?? 0
      const li = document.createElement('li')
      li.dataset.label = label
      li.dataset.score = String(score)
      const name = document.createElement('span')
      name.className = 'label'
      name.textContent = label
      const track = document.createElement('span')
      track.className = 'track'
      const fill = document.createElement('span')
      fill.className = 'fill'
      fill.style.setProperty('--score', String(score))
      track.append(fill)
      const value = document.createElement('span')
      value.className = 'value'
      value.textContent = `${(score * 100).toFixed(1)}%`
      li.append(name, track, value)
      return li
    }),
  )
  output.hidden = false
}

loginForm.addEventListener('submit', async (event) => {
  event.preventDefault()
  clearError()
  const username = /** @type {HTMLInputElement} */ ($('username')).value
  const password = /** @type {HTMLInputElement} */ ($('password'))
  try {
    const reply = await api('/login', { method: 'POST', body: { username, password: password.value } })
    sessionStorage.setItem(TOKEN_KEY, reply.token)
    password.value = ''
    await refreshStatus()
  } catch (err) {
    showError(err instanceof Error ? err.message : String(err))
  }
})

logoutButton.addEventListener('click', async () => {
  try {
    await api('/logout', { method: 'POST' })
  } catch {
    // Already expired or revoked: logged out either way.
  }
  sessionStorage.removeItem(TOKEN_KEY)
  clearError()
  showLogin()
})

$('add-class').addEventListener('click', addClass)
newClass.addEventListener('keydown', (event) => {
  if (event.key === 'Enter') {
    event.preventDefault()
    addClass()
  }
})

classifyForm.addEventListener('submit', async (event) => {
  event.preventDefault()
  clearError()
  submit.disabled = true
  submit.textContent = 'Classifying…'
  try {
    const body = {
      text: /** @type {HTMLTextAreaElement} */ ($('text')).value,
      classes,
      multipleTrue: /** @type {HTMLInputElement} */ ($('multiple')).checked,
    }
    renderScores(await api(`/blocks/${BLOCK}/predict`, { method: 'POST', body }))
  } catch (err) {
    output.hidden = true
    handle(err)
  } finally {
    submit.disabled = false
    submit.textContent = 'Classify'
  }
})

renderClasses()
refreshStatus()
