import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorCodes } from '../src/index.js'
import { buildTestServer, echoBlock, errorShape, logCollector } from './helpers.js'

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname

describe('one error shape for every error', () => {
  let app: FastifyInstance
  const log = logCollector()
  beforeAll(async () => {
    app = await buildTestServer(
      { blocks: [echoBlock], server: { bodyLimit: 1024 } },
      { plugins: { [fixture('throwing-routes-plugin.mjs')]: true }, server: { logLevel: 'info' }, logStream: log.stream },
    )
    await app.mlblocks.blocks.settled()
  })
  afterAll(() => app.close())

  const post = (payload: string, contentType = 'application/json') =>
    app.inject({ method: 'POST', url: '/blocks/echo/predict', payload, headers: { 'content-type': contentType } })

  it('answers 400 MLB_MALFORMED_JSON for a body that is not JSON', async () => {
    const res = await post('{"text": ')
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual(
      errorShape(400, 'MLB_MALFORMED_JSON', 'The body is not valid JSON. Send a JSON object with Content-Type: application/json.'),
    )
  })

  it('answers 400 MLB_MALFORMED_JSON for an empty JSON body', async () => {
    const res = await post('')
    expect(res.json()).toEqual(
      errorShape(400, 'MLB_MALFORMED_JSON', 'The body is empty but Content-Type is application/json: send a JSON object.'),
    )
  })

  it('answers 400 MLB_MALFORMED_JSON for a prototype-poisoning body', async () => {
    const res = await post('{"text":"a","__proto__":{"admin":true}}')
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual(errorShape(400, 'MLB_MALFORMED_JSON'))
  })

  it('answers 400 MLB_BAD_INPUT for a body with no content type at all', async () => {
    const res = await app.inject({ method: 'POST', url: '/blocks/echo/predict' })
    expect(res.json()).toEqual(errorShape(400, 'MLB_BAD_INPUT', 'body must be an object.'))
  })

  it('does not coerce JSON types: a number where a string is expected is a 400', async () => {
    const res = await post('{"text": 5}')
    expect(res.json()).toEqual(errorShape(400, 'MLB_BAD_INPUT', 'body.text must be a string.'))
  })

  it('answers 415 MLB_UNSUPPORTED_MEDIA_TYPE for a body that is not JSON by content type', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await post('text=a', type)
      expect(res.statusCode).toBe(415)
      expect(res.json()).toEqual(
        errorShape(415, 'MLB_UNSUPPORTED_MEDIA_TYPE', 'The request body must be JSON: send it with Content-Type: application/json.'),
      )
    }
  })

  it('answers 413 MLB_BODY_TOO_LARGE past the body limit', async () => {
    const res = await post(JSON.stringify({ text: 'x'.repeat(2000) }))
    expect(res.statusCode).toBe(413)
    expect(res.json()).toEqual(
      errorShape(413, 'MLB_BODY_TOO_LARGE', 'The request body is larger than the limit of 1024 bytes. Send a smaller body, or raise MLBLOCKS_BODY_LIMIT.'),
    )
  })

  it('answers 404 MLB_NOT_FOUND for an unknown route, without echoing the query string', async () => {
    const res = await app.inject({ method: 'GET', url: '/nowhere?api_key=mlb_secret' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual(errorShape(404, 'MLB_NOT_FOUND', 'No route GET /nowhere. GET /docs lists the routes.'))
    const wrongMethod = await app.inject({ method: 'DELETE', url: '/blocks' })
    expect(wrongMethod.json()).toEqual(errorShape(404, 'MLB_NOT_FOUND', 'No route DELETE /blocks. GET /docs lists the routes.'))
  })

  it('answers 500 MLB_INTERNAL with a generic message; the details go to the log only', async () => {
    const res = await app.inject({ method: 'GET', url: '/fixture/crash', headers: { 'x-request-id': 'req-crash-1' } })
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual(
      errorShape(500, 'MLB_INTERNAL', 'Something went wrong on the server. The details are in the server log under this request id.'),
    )
    expect(res.headers['x-request-id']).toBe('req-crash-1')
    expect(res.body).not.toContain('SELECT')
    const logged = log.lines.map((l) => JSON.parse(l)).find((l) => l.reqId === 'req-crash-1' && l.level === 50)
    expect(logged.err.message).toContain('SELECT password FROM users')
  })

  it.each([
    [401, 'MLB_UNAUTHORIZED', 'A valid credential is required: send Authorization: Bearer <token or API key>.'],
    [403, 'MLB_FORBIDDEN', 'Your credential does not allow this request.'],
    [429, 'MLB_RATE_LIMITED', 'Too many requests. Retry after the number of seconds in the Retry-After header.'],
    [418, 'MLB_BAD_REQUEST', "I'm a teapot"],
  ])('maps a plugin error with status %i and no MLB_ code to %s', async (status, code, message) => {
    const res = await app.inject({ method: 'GET', url: `/fixture/status/${status}` })
    expect(res.statusCode).toBe(status)
    expect(res.json()).toEqual(errorShape(status, code, message))
  })

  it('keeps a plugin error that has its own MLB_ code and message', async () => {
    const res = await app.inject({ method: 'GET', url: '/fixture/own-code' })
    expect(res.json()).toEqual(errorShape(409, 'MLB_USERNAME_TAKEN', "The username 'ada' is taken."))
  })

  it('never answers a 5xx with an MLB_ code other than 503s and MLB_INTERNAL', async () => {
    const res = await app.inject({ method: 'GET', url: '/fixture/own-500' })
    expect(res.json()).toEqual(errorShape(500, 'MLB_INTERNAL'))
  })

  it('lists every code it can write in one table', () => {
    const codes = errorCodes.map(([code]) => code)
    expect(new Set(codes).size).toBe(codes.length)
    expect(codes).toEqual(expect.arrayContaining(['MLB_BAD_INPUT', 'MLB_MALFORMED_JSON', 'MLB_BODY_TOO_LARGE', 'MLB_INTERNAL']))
  })
})
