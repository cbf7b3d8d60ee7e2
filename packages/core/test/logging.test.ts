import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { logDestination, redactQuery } from '../src/logger.js'
import { buildTestServer, echoBlock, logCollector } from './helpers.js'

describe('logging', () => {
  const log = logCollector()
  let app: FastifyInstance
  beforeAll(async () => {
    app = await buildTestServer(
      { blocks: [echoBlock] },
      {
        server: { logLevel: 'trace' },
        logStream: log.stream,
        plugins: { [new URL('./fixtures/logging-plugin.mjs', import.meta.url).pathname]: true },
      },
    )
  })
  afterAll(() => app.close())

  it('gives each request an id, takes a well-formed x-request-id, and returns it', async () => {
    const res = await app.inject({ url: '/blocks', headers: { 'x-request-id': 'abc-123' } })
    expect(res.headers['x-request-id']).toBe('abc-123')
    const odd = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'no spaces {allowed}' } })
    expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(log.lines.some((l) => JSON.parse(l).reqId === 'abc-123')).toBe(true)
  })

  it('never writes credentials, cookies or passwords to the log', async () => {
    await app.inject({
      method: 'POST',
      url: '/fixture/log?api_key=mlb_querysecret&x=1',
      headers: { authorization: 'Bearer tok_headersecret', 'x-api-key': 'mlb_keysecret', cookie: 'session=cookiesecret' },
      payload: { password: 'pw_bodysecret', nested: { password: 'pw_nestedsecret' } },
    })
    const text = log.text()
    expect(text).toContain('/fixture/log?api_key=[REDACTED]&x=[REDACTED]')
    expect(text).toContain('"authorization":"[REDACTED]"')
    for (const secret of ['querysecret', 'headersecret', 'keysecret', 'cookiesecret', 'pw_bodysecret', 'pw_nestedsecret']) {
      expect(text).not.toContain(secret)
    }
  })

  it('keeps query parameter names but drops their values', () => {
    expect(redactQuery('/a?token=x&b=&c')).toBe('/a?token=[REDACTED]&b=[REDACTED]&c=[REDACTED]')
    expect(redactQuery('/a')).toBe('/a')
  })
})

describe('log format', () => {
  const terminal = { isTTY: true } as NodeJS.WriteStream
  const pipe = { isTTY: false } as NodeJS.WriteStream

  it('is readable (pino-pretty) on a terminal and JSON (plain stdout) otherwise, unless LOG_FORMAT says', async () => {
    expect(await logDestination('auto', pipe)).toBeUndefined()
    expect(await logDestination('json', terminal)).toBeUndefined()
    const onTerminal = await logDestination('auto', terminal)
    expect(onTerminal).toBeDefined()
    expect(typeof onTerminal!.write).toBe('function')
    expect(await logDestination('pretty', pipe)).toBeDefined()
  })
})
