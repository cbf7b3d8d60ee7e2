import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestServer, echoBlock } from './helpers.js'

/** Sends raw bytes over a real socket and returns the raw answer (Node's parser runs before Fastify). */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.on('data', (d: Buffer) => (answer += d.toString()))
    socket.on('end', () => resolve(answer))
    socket.on('error', reject)
    socket.end(request)
  })
}

const parse = (answer: string) => {
  const [head, body] = answer.split('\r\n\r\n') as [string, string]
  return { status: Number(head.split(' ')[1]), head, body: JSON.parse(body) as unknown }
}

describe("Node's own HTTP parser errors, over a real socket", () => {
  let app: FastifyInstance
  let port: number
  beforeAll(async () => {
    app = await buildTestServer({ blocks: [echoBlock] })
    await app.listen({ port: 0, host: '127.0.0.1' })
    port = (app.server.address() as AddressInfo).port
  })
  afterAll(() => app.close())

  it('answers headers over 16 KB with 431 MLB_HEADERS_TOO_LARGE in the error shape', async () => {
    const answer = parse(await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`))
    expect(answer.status).toBe(431)
    expect(answer.head).toMatch(/content-type: application\/json/i)
    expect(answer.body).toEqual({ statusCode: 431, code: 'MLB_HEADERS_TOO_LARGE', error_message: expect.stringContaining('16 KB') })
  })

  it('answers a folded (obs-fold) header line with 400 MLB_BAD_REQUEST in the error shape', async () => {
    const answer = parse(await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Folded: one\r\n  two\r\n\r\n'))
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ statusCode: 400, code: 'MLB_BAD_REQUEST', error_message: expect.stringContaining('folded header') })
  })

  it('answers a garbage request line with 400 in the error shape, and keeps serving', async () => {
    const answer = parse(await raw(port, 'NOT HTTP AT ALL\r\n\r\n'))
    expect(answer.body).toMatchObject({ statusCode: 400, code: 'MLB_BAD_REQUEST' })
    expect(parse(await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).toBe(200)
  })
})
