// @ts-check
/**
 * The MLBlocks console: one page, no build step, no request beyond this server. It calls the same
 * API as curl does, with the token of its own login, which it keeps in a variable of this page only
 * (never in storage): a reload, a closed tab or "Log out" ends it.
 */

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))
/** @param {string} id */
const form = (id) => /** @type {HTMLFormElement} */ ($(id))
/** @param {HTMLFormElement} f @param {string} name */
const field = (f, name) => /** @type {HTMLInputElement} */ (f.elements.namedItem(name))

/** @typedef {{ user_id: string, username: string, role: string, blocks: string[], access?: { block: string, via: string[] }[] }} Me */

const state = {
  /** @type {string | null} held here only, never in sessionStorage or localStorage */
  token: null,
  /** @type {Me | null} */
  me: null,
  /** @type {string[]} every block's name, for the grant and scope pickers */
  blocks: [],
  /** @type {any[]} */
  users: [],
  /** @type {any[]} */
  groups: [],
  /** Audit paging: the `before` cursor of each page shown, newest first. @type {(number | undefined)[]} */
  auditPages: [undefined],
  /** @type {string | null} */
  editingUser: null,
  /** @type {string | null} */
  editingGroup: null,
}

class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

/**
 * Calls the API with the console's token. Throws an ApiError carrying the server's own message.
 * @param {string} path @param {{ method?: string, body?: unknown }} [options]
 */
async function api(path, { method = 'GET', body } = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' }
  if (state.token) headers.authorization = `Bearer ${state.token}`
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
    data = undefined
  }
  if (!res.ok) {
    const message = data?.error_message ?? `The server answered ${res.status}.`
    const retry = Number(res.headers.get('retry-after'))
    throw new ApiError(res.status, data?.code ?? 'MLB_ERROR', retry > 0 ? `${message} Try again in ${retry} s.` : message)
  }
  return data
}

// ---------------------------------------------------------------------------------------------
// Messages

/** @param {string} message */
function showError(message) {
  $('notice').hidden = true
  $('error').textContent = message
  $('error').hidden = false
}
/** @param {string} message */
function notify(message) {
  $('error').hidden = true
  $('notice').textContent = message
  $('notice').hidden = false
}
function clearMessages() {
  $('error').hidden = true
  $('notice').hidden = true
}

/** Shows what went wrong in words a person can act on; a 401 means the login has ended. @param {unknown} err */
function handle(err) {
  if (err instanceof ApiError && err.status === 401 && state.token) {
    endSession()
    showError('Your session has ended (it expired, or it was revoked). Log in again.')
    return
  }
  if (err instanceof ApiError && err.status === 403 && err.code === 'MLB_ADMIN_ONLY') {
    showError(`${err.message} Your role may have changed: log in again to see what you may do now.`)
    return
  }
  showError(err instanceof Error ? err.message : String(err))
}

/**
 * Runs an action from a button or form: disables the control while it runs and shows any error.
 * @param {HTMLButtonElement | HTMLFormElement | null} control @param {() => Promise<void>} action
 */
async function act(control, action) {
  const button = control instanceof HTMLFormElement ? control.querySelector('button[type=submit]') : control
  if (button instanceof HTMLButtonElement) button.disabled = true
  try {
    clearMessages()
    await action()
  } catch (err) {
    handle(err)
  } finally {
    if (button instanceof HTMLButtonElement) button.disabled = false
  }
}

// ---------------------------------------------------------------------------------------------
// Small DOM helpers

/** @param {string} text @param {string} [tag] */
function cell(text, tag = 'td') {
  const el = document.createElement(tag)
  el.textContent = text
  return el
}
/** A table row that says the table is empty. @param {string} text @param {number} columns */
function emptyRow(text, columns) {
  const tr = document.createElement('tr')
  const td = /** @type {HTMLTableCellElement} */ (cell(text))
  td.colSpan = columns
  td.className = 'empty'
  tr.append(td)
  return tr
}
/** @param {string} label @param {string} accessible @param {() => void} onClick @param {string} [kind] */
function button(label, accessible, onClick, kind = 'secondary') {
  const b = document.createElement('button')
  b.type = 'button'
  b.className = kind
  b.textContent = label
  b.setAttribute('aria-label', accessible)
  b.addEventListener('click', onClick)
  return b
}
/**
 * A destructive button: asks once, then DELETEs `path`, says it is done and reloads the view.
 * @param {string} label @param {string} accessible @param {string} question @param {string} path @param {string} done @param {() => Promise<void>} reload
 */
function deleteButton(label, accessible, question, path, done, reload) {
  return button(
    label,
    accessible,
    () =>
      act(null, async () => {
        if (!confirm(question)) return
        await api(path, { method: 'DELETE' })
        notify(done)
        await reload()
      }),
    'danger',
  )
}

/**
 * Membership checkboxes (a user's groups, a group's members), each remembering whether it was ticked.
 * @param {HTMLElement} fieldset @param {string} legend @param {{ value: string, label: string, checked: boolean }[]} items @param {string} empty
 */
function renderMembership(fieldset, legend, items, empty) {
  fieldset.replaceChildren(cell(legend, 'legend'))
  for (const item of items) {
    const label = document.createElement('label')
    label.className = 'check'
    const box = document.createElement('input')
    box.type = 'checkbox'
    box.value = item.value
    box.checked = item.checked
    box.dataset.was = String(item.checked)
    label.append(box, ` ${item.label}`)
    fieldset.append(label)
  }
  if (items.length === 0) fieldset.append(cell(empty, 'p'))
}
/** PUTs or DELETEs the membership of each box whose tick changed. @param {HTMLElement} fieldset @param {(value: string) => string} pathOf */
async function saveMembership(fieldset, pathOf) {
  for (const box of fieldset.querySelectorAll('input')) {
    const input = /** @type {HTMLInputElement} */ (box)
    if (String(input.checked) !== input.dataset.was) await api(pathOf(input.value), { method: input.checked ? 'PUT' : 'DELETE' })
  }
}
/** @param {string | null | undefined} iso */
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—')
/** @param {string | null | undefined} iso */
const day = (iso) => (iso ? new Date(iso).toLocaleDateString() : 'never')
/** @param {string[] | null | undefined} blocks @param {string} [none] */
const list = (blocks, none = 'none') => (blocks && blocks.length ? blocks.join(', ') : none)
/** @param {string} userId */
const username = (userId) => state.users.find((u) => u.user_id === userId)?.username ?? userId
/** A date input (yyyy-mm-dd) as the end of that day, in the browser's time zone. @param {string} value */
const endOfDay = (value) => (value ? new Date(`${value}T23:59:59`).toISOString() : undefined)

/**
 * Fills a grant or scope picker with one checkbox per block. Grants offer "all blocks" (`*`);
 * a scope lists the blocks a key may be narrowed to (for own keys: the caller's own).
 * @param {HTMLFieldSetElement} fieldset @param {string[]} checked
 */
function renderBlockPicker(fieldset, checked) {
  const scope = fieldset.dataset.scope !== undefined
  const own = fieldset.dataset.own !== undefined
  const names = own ? (state.me?.access?.map((a) => a.block) ?? state.me?.blocks ?? []).filter((b) => b !== '*') : state.blocks
  const options = scope ? names : ['*', ...names]
  const legend = fieldset.querySelector('legend')
  fieldset.replaceChildren(...(legend ? [legend] : []))
  for (const name of options) {
    const label = document.createElement('label')
    label.className = 'check'
    const box = document.createElement('input')
    box.type = 'checkbox'
    box.value = name
    box.checked = checked.includes(name)
    label.append(box, name === '*' ? ' all blocks (*)' : ` ${name}`)
    fieldset.append(label)
  }
  if (options.length === 0) fieldset.append(cell('No blocks to choose from.', 'p'))
}
/** @param {HTMLFieldSetElement} fieldset */
const pickedBlocks = (fieldset) => [...fieldset.querySelectorAll('input:checked')].map((i) => /** @type {HTMLInputElement} */ (i).value)
/** @param {string} key */
const picker = (key) => /** @type {HTMLFieldSetElement} */ (document.querySelector(`[data-blocks="${key}"]`))

// ---------------------------------------------------------------------------------------------
// The key shown once, and rotation

/** @param {string} key */
function showSecret(key) {
  const dialog = /** @type {HTMLDialogElement} */ ($('secret'))
  const input = /** @type {HTMLInputElement} */ ($('secret-value'))
  input.value = key
  dialog.showModal()
  input.select()
}
$('secret-copy').addEventListener('click', async () => {
  const input = /** @type {HTMLInputElement} */ ($('secret-value'))
  try {
    await navigator.clipboard.writeText(input.value)
  } catch {
    input.select()
    document.execCommand('copy')
  }
  $('secret-copy').textContent = 'Copied'
})
$('secret').addEventListener('close', () => {
  ;/** @type {HTMLInputElement} */ ($('secret-value')).value = ''
  $('secret-copy').textContent = 'Copy'
})

/** Asks for the grace period; resolves to it, or null when cancelled. @returns {Promise<number | null>} */
function askGrace() {
  const dialog = /** @type {HTMLDialogElement} */ ($('rotate'))
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => resolve(dialog.returnValue === 'rotate' ? Number(field(form('rotate-form'), 'grace_seconds').value) : null),
      { once: true },
    )
    dialog.returnValue = ''
    dialog.showModal()
  })
}

/** @param {string} path the key's rotate route @param {string} label */
async function rotate(path, label) {
  const grace = await askGrace()
  if (grace === null) return
  const reply = await api(path, { method: 'POST', body: { grace_seconds: grace } })
  showSecret(reply.api_key)
  notify(grace === 0 ? `Rotated ${label}: the old secret stopped working at once.` : `Rotated ${label}: the old secret works for ${grace} more seconds.`)
}

// ---------------------------------------------------------------------------------------------
// Login and navigation

function endSession() {
  state.token = null
  state.me = null
  $('nav').hidden = true
  $('who').hidden = true
  $('logout').hidden = true
  for (const view of document.querySelectorAll('.view')) /** @type {HTMLElement} */ (view).hidden = true
  form('login').hidden = false
  field(form('login'), 'password').value = ''
  field(form('login'), 'username').focus()
}

/** @param {{ token: string }} reply */
async function startSession(reply) {
  state.token = reply.token
  state.me = await api('/me')
  const me = /** @type {Me} */ (state.me)
  const admin = me.role === 'admin'
  if (admin) state.blocks = (await api('/blocks')).map((/** @type {{ name: string }} */ b) => b.name)
  form('login').hidden = true
  // The first view is loaded before the sections are offered: a quick click cannot be overtaken by it.
  await show(admin ? 'users' : 'me')
  for (const b of $('nav').querySelectorAll('[data-admin]')) /** @type {HTMLElement} */ (b).hidden = !admin
  $('nav').hidden = false
  $('who').textContent = `${me.username} (${me.role})`
  $('who').hidden = false
  $('logout').hidden = false
  // Keyboard users land on the sections, at the one shown (the login form they were in is gone).
  ;/** @type {HTMLElement | null} */ ($('nav').querySelector('[aria-current=page]'))?.focus()
}

form('login').addEventListener('submit', (event) => {
  event.preventDefault()
  const f = form('login')
  void act(f, async () => {
    try {
      await startSession(await api('/login', { method: 'POST', body: { username: field(f, 'username').value, password: field(f, 'password').value } }))
    } catch (err) {
      state.token = null
      throw err
    }
  })
})

$('logout').addEventListener('click', () =>
  act(/** @type {HTMLButtonElement} */ ($('logout')), async () => {
    try {
      await api('/logout', { method: 'POST' })
    } finally {
      endSession()
      notify('Logged out.')
    }
  }),
)

/** @type {Record<string, () => Promise<void>>} */
const loaders = { users: loadUsers, groups: loadGroups, keys: loadKeys, audit: () => loadAudit(), routes: loadRoutes, me: loadMe }

/** @param {string} name */
async function show(name) {
  for (const view of document.querySelectorAll('.view')) /** @type {HTMLElement} */ (view).hidden = view.id !== `view-${name}`
  for (const b of $('nav').querySelectorAll('button')) {
    if (/** @type {HTMLElement} */ (b).dataset.view === name) b.setAttribute('aria-current', 'page')
    else b.removeAttribute('aria-current')
  }
  await loaders[name]?.()
}
for (const b of $('nav').querySelectorAll('button')) {
  b.addEventListener('click', () => act(/** @type {HTMLButtonElement} */ (b), () => show(/** @type {string} */ (/** @type {HTMLElement} */ (b).dataset.view))))
}

// ---------------------------------------------------------------------------------------------
// Users

async function loadUsers() {
  const [users, groups] = await Promise.all([api('/admin/users'), api('/admin/groups')])
  state.users = users
  state.groups = groups
  renderBlockPicker(picker('user-create'), [])
  const tbody = /** @type {HTMLElement} */ ($('users-table').querySelector('tbody'))
  tbody.replaceChildren(
    ...users.map((/** @type {any} */ u) => {
      const tr = document.createElement('tr')
      tr.dataset.user = u.username
      const memberOf = groups.filter((/** @type {any} */ g) => (g.members ?? []).includes(u.user_id)).map((/** @type {any} */ g) => g.name)
      tr.append(cell(u.username, 'th'), cell(u.role), cell(list(u.blocks)), cell(list(memberOf)), cell(u.disabled ? 'disabled' : 'active'), cell(day(u.creation_date)))
      const actions = document.createElement('td')
      actions.className = 'actions'
      actions.append(
        button('Edit', `Edit ${u.username}`, () => editUser(u)),
        button('Lift lockout', `Lift the login lockout of ${u.username}`, () =>
          act(null, async () => {
            await api(`/admin/users/${u.user_id}/lockout`, { method: 'DELETE' })
            notify(`${u.username} can log in again at once: the login back-off is lifted on every instance.`)
          }),
        ),
        deleteButton(
          'Delete',
          `Delete ${u.username}`,
          `Delete ${u.username}? Their tokens and API keys stop working at once. This cannot be undone.`,
          `/admin/users/${u.user_id}`,
          `Deleted ${u.username}.`,
          loadUsers,
        ),
      )
      tr.append(actions)
      return tr
    }),
  )
}

form('user-create').addEventListener('submit', (event) => {
  event.preventDefault()
  const f = form('user-create')
  void act(f, async () => {
    const role = field(f, 'role').value
    /** @type {Record<string, unknown>} */
    const body = { username: field(f, 'username').value, role, blocks: pickedBlocks(picker('user-create')) }
    if (field(f, 'password').value) body.password = field(f, 'password').value
    const user = await api('/admin/users', { method: 'POST', body })
    f.reset()
    field(f, 'password').disabled = false
    notify(`Created ${user.username} (${user.role}).`)
    await loadUsers()
  })
})

// A service account has no password: it never logs in, it holds keys.
field(form('user-create'), 'role').addEventListener('change', () => {
  const f = form('user-create')
  const service = field(f, 'role').value === 'service'
  field(f, 'password').disabled = service
  if (service) field(f, 'password').value = ''
})

/** @param {any} user */
function editUser(user) {
  const f = form('user-edit')
  state.editingUser = user.user_id
  $('user-edit-title').textContent = `Edit ${user.username}`
  field(f, 'role').value = user.role
  field(f, 'password').value = ''
  field(f, 'disabled').checked = user.disabled
  renderBlockPicker(picker('user-edit'), user.blocks)
  renderMembership(
    $('user-edit-groups'),
    'Groups',
    state.groups.map((g) => ({ value: g.group_id, label: g.name, checked: (g.members ?? []).includes(user.user_id) })),
    'No groups yet.',
  )
  f.hidden = false
  field(f, 'role').focus()
}

form('user-edit').addEventListener('submit', (event) => {
  event.preventDefault()
  const f = form('user-edit')
  void act(f, async () => {
    const id = /** @type {string} */ (state.editingUser)
    const before = state.users.find((u) => u.user_id === id)
    /** @type {Record<string, unknown>} */
    const body = {}
    if (field(f, 'role').value !== before.role) body.role = field(f, 'role').value
    if (field(f, 'disabled').checked !== before.disabled) body.disabled = field(f, 'disabled').checked
    const blocks = pickedBlocks(picker('user-edit'))
    if (blocks.join('\n') !== before.blocks.join('\n')) body.blocks = blocks
    if (field(f, 'password').value) body.password = field(f, 'password').value
    if (Object.keys(body).length > 0) await api(`/admin/users/${id}`, { method: 'PATCH', body })
    await saveMembership($('user-edit-groups'), (groupId) => `/admin/groups/${groupId}/members/${id}`)
    f.hidden = true
    notify(`Saved ${before.username}.${body.password || body.disabled === true || body.role ? ' Their earlier logins have ended.' : ''}`)
    await loadUsers()
  })
})
$('user-edit-cancel').addEventListener('click', () => {
  form('user-edit').hidden = true
})

// ---------------------------------------------------------------------------------------------
// Groups

async function loadGroups() {
  const [groups, users] = await Promise.all([api('/admin/groups'), api('/admin/users')])
  state.groups = groups
  state.users = users
  renderBlockPicker(picker('group-create'), [])
  const tbody = /** @type {HTMLElement} */ ($('groups-table').querySelector('tbody'))
  tbody.replaceChildren(
    ...groups.map((/** @type {any} */ g) => {
      const tr = document.createElement('tr')
      tr.dataset.group = g.name
      tr.append(cell(g.name, 'th'), cell(list(g.blocks)), cell(list((g.members ?? []).map(username))))
      const actions = document.createElement('td')
      actions.className = 'actions'
      actions.append(
        button('Edit', `Edit group ${g.name}`, () => editGroup(g)),
        deleteButton(
          'Delete',
          `Delete group ${g.name}`,
          `Delete the group ${g.name}? Its members lose the blocks it grants at once.`,
          `/admin/groups/${g.group_id}`,
          `Deleted the group ${g.name}.`,
          loadGroups,
        ),
      )
      tr.append(actions)
      return tr
    }),
  )
}

form('group-create').addEventListener('submit', (event) => {
  event.preventDefault()
  const f = form('group-create')
  void act(f, async () => {
    const group = await api('/admin/groups', { method: 'POST', body: { name: field(f, 'name').value, blocks: pickedBlocks(picker('group-create')) } })
    f.reset()
    notify(`Created the group ${group.name}.`)
    await loadGroups()
  })
})

/** @param {any} group */
function editGroup(group) {
  const f = form('group-edit')
  state.editingGroup = group.group_id
  $('group-edit-title').textContent = `Edit group ${group.name}`
  field(f, 'name').value = group.name
  renderBlockPicker(picker('group-edit'), group.blocks)
  renderMembership(
    $('group-edit-members'),
    'Members',
    state.users.map((u) => ({ value: u.user_id, label: u.username, checked: (group.members ?? []).includes(u.user_id) })),
    'No users yet.',
  )
  f.hidden = false
  field(f, 'name').focus()
}

form('group-edit').addEventListener('submit', (event) => {
  event.preventDefault()
  const f = form('group-edit')
  void act(f, async () => {
    const id = /** @type {string} */ (state.editingGroup)
    await api(`/admin/groups/${id}`, { method: 'PATCH', body: { name: field(f, 'name').value, blocks: pickedBlocks(picker('group-edit')) } })
    await saveMembership($('group-edit-members'), (userId) => `/admin/groups/${id}/members/${userId}`)
    f.hidden = true
    notify(`Saved the group ${field(f, 'name').value}.`)
    await loadGroups()
  })
})
$('group-edit-cancel').addEventListener('click', () => {
  form('group-edit').hidden = true
})

// ---------------------------------------------------------------------------------------------
// API keys (admin)

/**
 * One row of a key table. @param {any} k @param {{ owner: boolean, base: string }} options
 * `base` is the key routes' prefix: /admin/apikeys or /me/apikeys.
 */
function keyRow(k, { owner, base }) {
  const tr = document.createElement('tr')
  const label = k.name || k.prefix
  tr.dataset.key = label
  tr.append(cell(k.name || '—', 'th'))
  if (owner) tr.append(cell(username(k.user_id)))
  tr.append(cell(k.prefix), cell(list(k.blocks, 'all of the owner’s blocks')), cell(day(k.created_at)), cell(day(k.expiration_date)), cell(when(k.last_used_at)))
  if (owner) tr.append(cell(k.issued_by?.username ?? '—'))
  const actions = document.createElement('td')
  actions.className = 'actions'
  if (k.revoked_at) actions.append(`revoked ${day(k.revoked_at)}`)
  else {
    actions.append(
      button('Rotate', `Rotate the key ${label}`, () =>
        act(null, async () => {
          await rotate(`${base}/${k.key_id}/rotate`, `the key ${label}`)
          await (owner ? loadKeys() : loadMyKeys())
        }),
      ),
      deleteButton(
        'Revoke',
        `Revoke the key ${label}`,
        `Revoke the key ${label}? Every client that uses it is refused from now on. This cannot be undone.`,
        `${base}/${k.key_id}`,
        `Revoked the key ${label}.`,
        owner ? loadKeys : loadMyKeys,
      ),
    )
  }
  tr.append(actions)
  return tr
}

async function loadKeys() {
  const [keys, users] = await Promise.all([api('/admin/apikeys'), api('/admin/users')])
  state.users = users
  const select = field(form('key-create'), 'user_id')
  const chosen = select.value
  select.replaceChildren(...users.map((/** @type {any} */ u) => new Option(`${u.username} (${u.role})`, u.user_id)))
  if (chosen) select.value = chosen
  renderBlockPicker(picker('key-create'), [])
  const tbody = /** @type {HTMLElement} */ ($('keys-table').querySelector('tbody'))
  tbody.replaceChildren(...keys.map((/** @type {any} */ k) => keyRow(k, { owner: true, base: '/admin/apikeys' })))
}

/** @param {HTMLFormElement} f @param {string} pickerKey */
function keyBody(f, pickerKey) {
  /** @type {Record<string, unknown>} */
  const body = {}
  if (field(f, 'name').value) body.name = field(f, 'name').value
  const expires = endOfDay(field(f, 'expiration_date').value)
  if (expires) body.expiration_date = expires
  const blocks = pickedBlocks(picker(pickerKey))
  if (blocks.length) body.blocks = blocks
  return body
}

form('key-create').addEventListener('submit', (event) => {
  event.preventDefault()
  const f = form('key-create')
  void act(f, async () => {
    const reply = await api('/admin/apikeys', { method: 'POST', body: { user_id: field(f, 'user_id').value, ...keyBody(f, 'key-create') } })
    field(f, 'name').value = ''
    field(f, 'expiration_date').value = ''
    showSecret(reply.api_key)
    notify(`Issued a key for ${username(reply.user_id)}.`)
    await loadKeys()
  })
})

// ---------------------------------------------------------------------------------------------
// Audit log

/** The filter as query parameters (times from the browser's time zone to UTC). */
function auditQuery() {
  const f = form('audit-filter')
  const query = new URLSearchParams({ limit: '50' })
  for (const name of ['actor', 'action']) if (field(f, name).value) query.set(name, field(f, name).value.trim())
  for (const name of ['since', 'until']) if (field(f, name).value) query.set(name, new Date(field(f, name).value).toISOString())
  return query
}

/** @param {number} [page] which page of the current filter: 0 is the newest */
async function loadAudit(page = 0) {
  const query = auditQuery()
  const before = state.auditPages[page]
  if (before !== undefined) query.set('before', String(before))
  const rows = await api(`/admin/audit?${query}`)
  state.auditPages.length = page + 1
  if (rows.length === 50) state.auditPages.push(rows.at(-1).event_id)
  const older = /** @type {HTMLButtonElement} */ ($('audit-older'))
  older.disabled = state.auditPages.length === page + 1
  older.dataset.page = String(page + 1)
  const tbody = /** @type {HTMLElement} */ ($('audit-table').querySelector('tbody'))
  tbody.replaceChildren(
    ...rows.map((/** @type {any} */ e) => {
      const tr = document.createElement('tr')
      tr.dataset.action = e.action
      tr.append(cell(when(e.at)), cell(e.action), cell(e.actor_name ?? e.actor_id ?? '—'), cell(e.target ?? '—'), cell(e.status === null ? '—' : String(e.status)), cell(e.client_address ?? '—'), cell(String(e.count)))
      return tr
    }),
  )
  if (rows.length === 0) tbody.append(emptyRow('No events match.', 7))
  const actions = $('audit-actions')
  const known = new Set([...actions.querySelectorAll('option')].map((o) => o.value))
  for (const e of rows) if (!known.has(e.action)) (known.add(e.action), actions.append(new Option(e.action)))
}
form('audit-filter').addEventListener('submit', (event) => {
  event.preventDefault()
  state.auditPages = [undefined]
  void act(form('audit-filter'), () => loadAudit(0))
})
$('audit-newest').addEventListener('click', () => act(/** @type {HTMLButtonElement} */ ($('audit-newest')), () => loadAudit(0)))
$('audit-older').addEventListener('click', () =>
  act(/** @type {HTMLButtonElement} */ ($('audit-older')), () => loadAudit(Number(/** @type {HTMLElement} */ ($('audit-older')).dataset.page))),
)

// ---------------------------------------------------------------------------------------------
// Routes

async function loadRoutes() {
  const routes = await api('/admin/routes')
  const tbody = /** @type {HTMLElement} */ ($('routes-table').querySelector('tbody'))
  tbody.replaceChildren(
    ...routes.map((/** @type {{ method: string, url: string, access: string }} */ r) => {
      const tr = document.createElement('tr')
      tr.append(cell(r.method), cell(r.url, 'th'), cell(r.access))
      return tr
    }),
  )
}

// ---------------------------------------------------------------------------------------------
// My account

async function loadMe() {
  state.me = await api('/me')
  const me = /** @type {Me} */ (state.me)
  const details = $('me-details')
  details.replaceChildren()
  /** @type {[string, string][]} */
  const rows = [['Username', me.username], ['Role', me.role], ['Granted blocks', list(me.blocks, 'none')]]
  for (const [term, value] of rows) details.append(cell(term, 'dt'), cell(value, 'dd'))
  const tbody = /** @type {HTMLElement} */ ($('me-access').querySelector('tbody'))
  const access = me.access ?? []
  tbody.replaceChildren(
    ...access.map((a) => {
      const tr = document.createElement('tr')
      tr.append(cell(a.block, 'th'), cell(a.via.map((v) => (v === 'own' ? 'your own grant' : v === 'admin' ? 'your admin role' : v.replace(/^group:/, 'the group '))).join(', ')))
      return tr
    }),
  )
  if (access.length === 0) tbody.append(emptyRow('Nothing yet: ask an admin for a grant.', 2))
  await loadMyKeys()
}

async function loadMyKeys() {
  const off = $('me-keys-off')
  const create = form('me-key-create')
  try {
    const keys = await api('/me/apikeys')
    off.hidden = true
    create.hidden = false
    $('me-keys-table').hidden = false
    renderBlockPicker(picker('me-key-create'), [])
    const tbody = /** @type {HTMLElement} */ ($('me-keys-table').querySelector('tbody'))
    tbody.replaceChildren(...keys.map((/** @type {any} */ k) => keyRow(k, { owner: false, base: '/me/apikeys' })))
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 403) throw err
    // Self-service keys are off on this server (AUTH_SELF_SERVICE_KEYS=false): say so, offer nothing.
    off.textContent = err.message
    off.hidden = false
    create.hidden = true
    $('me-keys-table').hidden = true
  }
}

form('me-key-create').addEventListener('submit', (event) => {
  event.preventDefault()
  const f = form('me-key-create')
  void act(f, async () => {
    const reply = await api('/me/apikeys', { method: 'POST', body: keyBody(f, 'me-key-create') })
    field(f, 'name').value = ''
    field(f, 'expiration_date').value = ''
    showSecret(reply.api_key)
    notify('Created your key.')
    await loadMyKeys()
  })
})

form('me-password').addEventListener('submit', (event) => {
  event.preventDefault()
  const f = form('me-password')
  void act(f, async () => {
    const reply = await api('/me/password', {
      method: 'POST',
      body: { current_password: field(f, 'current_password').value, new_password: field(f, 'new_password').value },
    })
    // The server revoked every earlier token, this page's included: carry on with the fresh one.
    state.token = reply.token
    f.reset()
    notify('Your password is changed. Your other logins have ended.')
  })
})

endSession()
