import { describe, expect, it } from 'vitest'
import { resolveServerSettings } from '../src/index.js'
import { buildTestServer, echoBlock, logCollector } from './helpers.js'

/** A server whose one route answers the client address it believes, and whose request log is collected. */
async function serverWith(env: Record<string, string>) {
  const log = logCollector()
  const app = await buildTestServer({ blocks: [echoBlock] }, { env, server: { logLevel: 'info' }, logStream: log.stream })
  return { app, log }
}

const FROM_PROXY = '10.0.0.5'
const SPOOFED = '203.0.113.9'

describe('TRUST_PROXY', () => {
  it('unset: a spoofed X-Forwarded-For is never believed (request.ip and the request log keep the peer)', async () => {
    const { app, log } = await serverWith({})
    const res = await app.inject({ url: '/blocks', remoteAddress: FROM_PROXY, headers: { 'x-forwarded-for': SPOOFED } })
    expect(res.statusCode).toBe(200)
    const lines = log.lines.map((l) => JSON.parse(l)).filter((l) => l.req)
    expect(lines.at(-1).req.remoteAddress).toBe(FROM_PROXY)
    expect(log.text()).not.toContain(SPOOFED)
    await app.close()
  })

  it('set to the proxy: its X-Forwarded-For is believed, and the request log shows the client', async () => {
    const { app, log } = await serverWith({ TRUST_PROXY: `${FROM_PROXY}, 192.168.0.0/16` })
    await app.inject({ url: '/blocks', remoteAddress: FROM_PROXY, headers: { 'x-forwarded-for': SPOOFED } })
    const lines = log.lines.map((l) => JSON.parse(l)).filter((l) => l.req)
    expect(lines.at(-1).req.remoteAddress).toBe(SPOOFED)
    // The same header from anyone else is not believed: only the proxy's.
    await app.inject({ url: '/blocks', remoteAddress: '198.51.100.7', headers: { 'x-forwarded-for': SPOOFED } })
    const after = log.lines.map((l) => JSON.parse(l)).filter((l) => l.req)
    expect(after.at(-1).req.remoteAddress).toBe('198.51.100.7')
    // A CIDR entry trusts the whole range.
    await app.inject({ url: '/blocks', remoteAddress: '192.168.4.4', headers: { 'x-forwarded-for': '198.51.100.8' } })
    expect(log.lines.map((l) => JSON.parse(l)).filter((l) => l.req).at(-1).req.remoteAddress).toBe('198.51.100.8')
    await app.close()
  })

  it('set to a hop count: that many proxies are stripped from the right of X-Forwarded-For', async () => {
    const { app, log } = await serverWith({ TRUST_PROXY: '1' })
    await app.inject({ url: '/blocks', remoteAddress: FROM_PROXY, headers: { 'x-forwarded-for': `${SPOOFED}, 198.51.100.1` } })
    expect(log.lines.map((l) => JSON.parse(l)).filter((l) => l.req).at(-1).req.remoteAddress).toBe('198.51.100.1')
    await app.close()
  })

  it('parses addresses, CIDRs, names and hop counts, from the environment over the config file', () => {
    expect(resolveServerSettings({}, {}).trustProxy).toBe(false)
    expect(resolveServerSettings({}, { TRUST_PROXY: ' 10.0.0.1 ,fd00::/8,loopback' }).trustProxy).toEqual(['10.0.0.1', 'fd00::/8', 'loopback'])
    expect(resolveServerSettings({}, { TRUST_PROXY: '2' }).trustProxy).toBe(2)
    expect(resolveServerSettings({ trustProxy: ['10.0.0.0/8'] }, {}).trustProxy).toEqual(['10.0.0.0/8'])
    expect(resolveServerSettings({ trustProxy: '10.0.0.0/8' }, { TRUST_PROXY: '127.0.0.1' }).trustProxy).toEqual(['127.0.0.1'])
  })

  it.each([
    ['true', "TRUST_PROXY has 'true', which is not an address, a CIDR or a hop count"],
    ['10.0.0.300', "TRUST_PROXY has '10.0.0.300', which is not an address, a CIDR or a hop count"],
    ['10.0.0.0/33', "TRUST_PROXY has '10.0.0.0/33', which is not an address, a CIDR or a hop count"],
    ['10.0.0.1,,10.0.0.2', "TRUST_PROXY has '', which is not an address, a CIDR or a hop count"],
    ['0', "TRUST_PROXY must be a hop count from 1 to 100; got '0'"],
  ])('refuses TRUST_PROXY=%s with one line naming it and how to fix it', (value, message) => {
    expect(() => resolveServerSettings({}, { TRUST_PROXY: value })).toThrow(message)
    expect(() => resolveServerSettings({}, { TRUST_PROXY: value })).toThrow(/or unset it to ignore X-Forwarded-For\.$/)
  })

  it('stops start-up on a bad TRUST_PROXY', async () => {
    await expect(buildTestServer({ blocks: [echoBlock] }, { env: { TRUST_PROXY: 'proxy.internal' } })).rejects.toThrow("TRUST_PROXY has 'proxy.internal'")
  })
})
