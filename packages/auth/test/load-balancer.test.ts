// Issue 23: three instances on one Postgres and one Redis behind a real HAProxy (Debian's) on
// loopback, health-checking /readyz, driven over HTTP as clients would reach them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request as httpRequest } from 'node:http'
import { createRequire } from 'node:module'
import { connect, createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { randomInt } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { needs } from '../../../test-support/services.js'
import { sample } from '../../../test-support/prometheus.js'
import { ADMIN, createBackend, SECRET, type Backend } from './helpers.js'

const haproxy = needs('haproxy')
const services = [haproxy, needs('postgres'), needs('redis')]
/** The first service missing (it skips the suite with its line, or fails it under CI), else any. */
const gate = services.find((s) => !s.available) ?? haproxy

const require = createRequire(import.meta.url)
const cli = join(dirname(require.resolve('@mlblocks/core/package.json')), 'dist', 'cli.js')
const config = new URL('./fixtures/lb/mlblocks.config.mjs', import.meta.url).pathname
const LOGIN_LIMIT = 5
/** Requests the load generator keeps in flight: the most that one SIGKILL can catch mid-way. */
const CONCURRENCY = 4

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** One HTTP request over node:http, optionally from a given loopback address (a distinct client). */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: unknown; localAddress?: string; agent?: Agent } = {}): Promise<Answer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: options.method ?? 'GET',
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...options.headers },
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        agent: options.agent ?? false,
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end(payload)
  })
}

async function freePort(): Promise<number> {
  const server = createNetServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const started = Date.now()
  let last: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      last = err
    }
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms${last ? ` (${String(last)})` : ''}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

class Instance {
  child!: ChildProcess
  output = ''
  constructor(
    readonly name: string,
    readonly port: number,
    readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    this.child = spawn(process.execPath, [cli, 'start', '--config', config], {
      env: { PATH: process.env.PATH ?? '', ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const keep = (chunk: Buffer) => void (this.output = (this.output + chunk.toString()).slice(-4000))
    this.child.stdout!.on('data', keep)
    this.child.stderr!.on('data', keep)
    const exited = once(this.child, 'exit').then(([code]) => {
      throw new Error(`${this.name} exited with ${String(code)} while starting: ${this.output}`)
    })
    await Promise.race([until(`${this.name} ready`, 90_000, async () => (await send(`${this.url}/readyz`)).status === 200), exited])
    exited.catch(() => undefined)
  }

  async stop(signal: NodeJS.Signals): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode
    const exit = once(this.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
    this.child.kill(signal)
    const [code] = await exit
    return code
  }
}

/** HAProxy's runtime API on its admin socket: one command, its whole answer. */
async function haproxyCommand(socket: string, command: string): Promise<string> {
  const conn = connect(socket)
  let text = ''
  conn.on('data', (c: Buffer) => void (text += c.toString()))
  await once(conn, 'connect')
  conn.end(`${command}\n`)
  await once(conn, 'close')
  return text
}

/** `show stat` as rows keyed by its CSV header: one per server of the backend. */
async function serverStats(socket: string): Promise<Map<string, Record<string, string>>> {
  const [header, ...lines] = (await haproxyCommand(socket, 'show stat')).trim().split('\n')
  const names = header!.replace(/^# /, '').split(',')
  const rows = new Map<string, Record<string, string>>()
  for (const line of lines) {
    const cells = line.split(',')
    const row = Object.fromEntries(names.map((n, i) => [n, cells[i] ?? '']))
    if (row.pxname === 'mlblocks' && row.svname !== 'BACKEND') rows.set(row.svname!, row)
  }
  return rows
}

/** The HAProxy configuration docs/deployment.md shows, with this run's ports and socket. */
export function haproxyConfig(frontendPort: number, servers: Array<{ name: string; port: number }>, socket: string): string {
  return `global
  stats socket ${socket} mode 600 level admin
  maxconn 2000

defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 5s
  # Tell the instances who the client is (they believe it only from TRUST_PROXY's addresses).
  option forwardfor
  option http-buffer-request
  # A request that could not reach an instance goes to another one.
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout

frontend mlblocks_in
  bind 127.0.0.1:${frontendPort}
  default_backend mlblocks

backend mlblocks
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server check inter 500ms fall 2 rise 2
  http-response set-header X-Served-By %[srv_name]
${servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port}`).join('\n')}
`
}

/** Steady load through the load balancer: CONCURRENCY loops of predicts until stopped; counts every answer. */
function steadyLoad(url: string, apiKey: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const result = { ok: 0, failures: [] as string[], byServer: new Map<string, number>() }
  let running = true
  const loops = Array.from({ length: CONCURRENCY }, async () => {
    while (running) {
      try {
        const res = await send(`${url}/blocks/echo/predict`, { method: 'POST', headers: { 'x-api-key': apiKey }, body: { text: 'hi' }, agent })
        if (res.status === 200) {
          result.ok += 1
          const server = String(res.headers['x-served-by'])
          result.byServer.set(server, (result.byServer.get(server) ?? 0) + 1)
        } else result.failures.push(`${res.status} ${res.body.slice(0, 120)}`)
      } catch (err) {
        result.failures.push(err instanceof Error ? err.message : String(err))
      }
    }
  })
  return {
    result,
    async stop() {
      running = false
      await Promise.all(loops)
      agent.destroy()
      return result
    },
  }
}

gate.describe('three instances behind HAProxy on one Postgres and one Redis', () => {
  let backend: Backend
  let dir: string
  let socket: string
  let lb: string
  let proxy: ChildProcess | undefined
  let proxyOutput = ''
  const instances: Instance[] = []
  let adminToken: string
  let adminKey: string

  const asAdmin = { authorization: '' }
  const stats = () => serverStats(socket)

  beforeAll(async () => {
    backend = await createBackend('postgres')
    dir = mkdtempSync(join(tmpdir(), 'mlb-lb-'))
    socket = join(dir, 'admin.sock')
    const env = {
      AUTH_ENABLED: 'true',
      AUTH_JWT_SECRET: SECRET,
      DATABASE_URL: backend.options.databaseUrl!,
      REDIS_URL: process.env.TEST_REDIS_URL!,
      // HAProxy connects from 127.0.0.1: only its X-Forwarded-For is believed.
      TRUST_PROXY: '127.0.0.1',
      MLBLOCKS_ADMIN_USERNAME: ADMIN.username,
      MLBLOCKS_ADMIN_PASSWORD: ADMIN.password,
      AUTH_LOGIN_RATE_LIMIT: String(LOGIN_LIMIT),
      // Cached for ten minutes: a revocation must reach the others by itself, not by expiry.
      AUTH_CACHE_TTL: '10m',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
    }
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()])
    for (let i = 0; i < 3; i++) instances.push(new Instance(`s${i + 1}`, ports[i]!, env))
    // The first one alone creates the admin; the others then start together (migrations under a lock).
    await instances[0]!.start()
    await Promise.all(instances.slice(1).map((s) => s.start()))
    writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(ports[3]!, instances, socket))
    expect(spawnSync(haproxy.value, ['-c', '-q', '-f', join(dir, 'haproxy.cfg')]).status).toBe(0)
    proxy = spawn(haproxy.value, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] })
    proxy.stdout!.on('data', (c: Buffer) => void (proxyOutput += c.toString()))
    proxy.stderr!.on('data', (c: Buffer) => void (proxyOutput += c.toString()))
    lb = `http://127.0.0.1:${ports[3]}`
    await until('HAProxy sees three instances up', 30_000, async () => [...(await stats()).values()].filter((r) => r.status === 'UP').length === 3)

    const login = await send(`${lb}/login`, { method: 'POST', body: ADMIN })
    expect(login.status).toBe(200)
    adminToken = (JSON.parse(login.body) as { token: string }).token
    asAdmin.authorization = `Bearer ${adminToken}`
    const me = JSON.parse((await send(`${lb}/me`, { headers: asAdmin })).body) as { user_id: string }
    adminKey = (JSON.parse((await send(`${lb}/admin/apikeys`, { method: 'POST', headers: asAdmin, body: { user_id: me.user_id } })).body) as { api_key: string }).api_key
  }, 180_000)

  afterAll(async () => {
    if (proxy && proxy.exitCode === null) {
      const exit = once(proxy, 'exit')
      proxy.kill('SIGTERM')
      await exit
    }
    await Promise.all(instances.map((s) => (s.child ? s.stop('SIGTERM') : undefined)))
    await backend?.drop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  it('limits failed logins per client address as HAProxy forwards it: one client’s failures never limit another', async () => {
    // Two clients on distinct loopback addresses, fresh for each run (the counters live in Redis).
    const octets = () => `127.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(2, 255)}`
    const attacker = octets()
    const bystander = octets()
    const statuses: number[] = []
    for (let i = 0; i < LOGIN_LIMIT + 2; i++) {
      // Each a different unknown username (no per-username back-off), and a spoofed X-Forwarded-For
      // that HAProxy appends the real address to: the instance takes the address HAProxy saw.
      const res = await send(`${lb}/login`, {
        method: 'POST',
        localAddress: attacker,
        headers: { 'x-forwarded-for': bystander },
        body: { username: `nobody-${i}`, password: 'wrong password!!' },
      })
      statuses.push(res.status)
    }
    // Spread over the three instances by round robin, counted once in Redis.
    expect(statuses.slice(0, LOGIN_LIMIT)).toEqual(Array(LOGIN_LIMIT).fill(401))
    expect(statuses.slice(LOGIN_LIMIT)).toEqual([429, 429])
    // The attacker's own correct login is refused too (its address passed its cap) ...
    expect((await send(`${lb}/login`, { method: 'POST', localAddress: attacker, body: ADMIN })).status).toBe(429)
    // ... but the bystander, whose address the attacker forged, logs in on every instance.
    for (let i = 0; i < 3; i++) {
      const res = await send(`${lb}/login`, { method: 'POST', localAddress: bystander, body: ADMIN })
      expect(res.status).toBe(200)
    }
  }, 60_000)

  it('a key revoked through the load balancer is refused by every instance within a second', async () => {
    const user = JSON.parse(
      (await send(`${lb}/admin/users`, { method: 'POST', headers: asAdmin, body: { username: `lb-user-${Date.now()}`, password: 'a long enough password', role: 'user' } })).body,
    ) as { user_id: string }
    const key = JSON.parse((await send(`${lb}/admin/apikeys`, { method: 'POST', headers: asAdmin, body: { user_id: user.user_id } })).body) as { api_key: string; key_id: string }
    // Every instance has checked it and holds it in its cache (ten minutes).
    for (const s of instances) expect((await send(`${s.url}/me`, { headers: { 'x-api-key': key.api_key } })).status).toBe(200)
    expect((await send(`${lb}/admin/apikeys/${key.key_id}`, { method: 'DELETE', headers: asAdmin })).status).toBe(204)
    const revokedAt = Date.now()
    const took = await Promise.all(
      instances.map((s) => until(`${s.name} refuses the key`, 1000, async () => (await send(`${s.url}/me`, { headers: { 'x-api-key': key.api_key } })).status === 401).then(() => Date.now() - revokedAt)),
    )
    for (const ms of took) expect(ms).toBeLessThanOrEqual(1000)
  }, 30_000)

  it("each instance's /metrics counts the predicts it served", async () => {
    const scrape = async () => Promise.all(instances.map(async (s) => sample((await send(`${s.url}/metrics`, { headers: { 'x-api-key': adminKey } })).body, 'mlblocks_block_requests_total{block="echo",status="200"}') ?? 0))
    const before = await scrape()
    const served = new Map<string, number>()
    for (let i = 0; i < 30; i++) {
      const res = await send(`${lb}/blocks/echo/predict`, { method: 'POST', headers: { 'x-api-key': adminKey }, body: { text: 'count me' } })
      expect(res.status).toBe(200)
      const server = String(res.headers['x-served-by'])
      served.set(server, (served.get(server) ?? 0) + 1)
    }
    const after = await scrape()
    instances.forEach((s, i) => expect(after[i]! - before[i]!, s.name).toBe(served.get(s.name) ?? 0))
    // Round robin: every instance served some of them.
    expect([...served.keys()].sort()).toEqual(['s1', 's2', 's3'])
  }, 30_000)

  it('a rolling restart under steady load (drain, SIGTERM, start, ready; each instance in turn) fails no request', async () => {
    const load = steadyLoad(lb, adminKey)
    for (const s of instances) {
      expect(await haproxyCommand(socket, `set server mlblocks/${s.name} state drain`)).toBe('\n')
      await until(`${s.name} drained`, 20_000, async () => (await stats()).get(s.name)?.scur === '0')
      expect(await s.stop('SIGTERM')).toBe(0)
      await s.start()
      await haproxyCommand(socket, `set server mlblocks/${s.name} state ready`)
      await until(`${s.name} back up`, 20_000, async () => (await stats()).get(s.name)?.status === 'UP')
    }
    await new Promise((r) => setTimeout(r, 500))
    const result = await load.stop()
    process.stderr.write(`load balancer: rolling restart served ${result.ok} predicts, ${result.failures.length} failed; by instance ${JSON.stringify(Object.fromEntries(result.byServer))}\n`)
    expect(result.failures).toEqual([])
    expect(result.ok).toBeGreaterThan(0)
  }, 150_000)

  it('an instance killed with SIGKILL under load: HAProxy routes around it, the failures are reported and bounded', async () => {
    const victim = instances[1]!
    const load = steadyLoad(lb, adminKey)
    await until('load running', 10_000, async () => load.result.ok > 20)
    const okBefore = load.result.ok
    await victim.stop('SIGKILL')
    await until(`HAProxy marks ${victim.name} down`, 10_000, async () => (await stats()).get(victim.name)?.status?.startsWith('DOWN'))
    const okAtDown = load.result.ok
    await until('the others serve on', 10_000, async () => load.result.ok > okAtDown + 50)
    const result = await load.stop()
    process.stderr.write(
      `load balancer: SIGKILL of ${victim.name} under load: ${result.failures.length} failed of ${result.ok + result.failures.length} (${okAtDown - okBefore} served while HAProxy noticed)${result.failures.length ? `: ${[...new Set(result.failures)].join('; ')}` : ''}\n`,
    )
    // At most the requests in flight on the killed instance: HAProxy retries the connections it refuses.
    expect(result.failures.length).toBeLessThanOrEqual(CONCURRENCY)
    expect(result.ok).toBeGreaterThan(okAtDown)
    // It comes back and HAProxy takes it in again.
    await victim.start()
    await until(`${victim.name} back up`, 20_000, async () => (await stats()).get(victim.name)?.status === 'UP')
    expect(proxyOutput).not.toMatch(/\[ALERT\]/)
  }, 120_000)
})
