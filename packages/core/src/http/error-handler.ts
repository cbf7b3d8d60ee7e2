import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  BadInput,
  BodyTooLarge,
  Internal,
  MalformedJson,
  RouteNotFound,
  UnsupportedMediaType,
  type ErrorReply,
} from '../errors.js'

interface HttpError {
  statusCode: number
  code: string
  message: string
}

interface ValidationIssue {
  keyword: string
  instancePath: string
  message?: string
  params: Record<string, unknown>
}

type IncomingError = Partial<FastifyError> & {
  validation?: ValidationIssue[]
  validationContext?: string
}

function fromError(e: FastifyError): HttpError {
  return { statusCode: e.statusCode ?? 500, code: e.code, message: e.message }
}

/** Generic messages for statuses a plugin may raise without an MLB_ code of its own. */
const generic: Record<number, [code: string, message: string]> = {
  401: ['MLB_UNAUTHORIZED', 'A valid credential is required: send Authorization: Bearer <token or API key>.'],
  403: ['MLB_FORBIDDEN', 'Your credential does not allow this request.'],
  429: ['MLB_RATE_LIMITED', 'Too many requests. Retry after the number of seconds in the Retry-After header.'],
}

/** Maps anything thrown while serving a request to the one MLBlocks error shape. */
export function toHttpError(err: IncomingError, bodyLimit: number): HttpError {
  const status = typeof err.statusCode === 'number' ? err.statusCode : 500
  const code = err.code ?? ''

  if (err.validation) return fromError(new BadInput(describeValidation(err.validation, err.validationContext)))
  if (code.startsWith('MLB_') && (status < 500 || status === 503)) {
    return { statusCode: status, code, message: err.message ?? code }
  }
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return fromError(new BodyTooLarge(bodyLimit))
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return fromError(new UnsupportedMediaType('The request body must be JSON: send it with Content-Type: application/json.'))
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return fromError(new MalformedJson('The body is not valid JSON. Send a JSON object with Content-Type: application/json.'))
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return fromError(new MalformedJson('The body is empty but Content-Type is application/json: send a JSON object.'))
  }
  if (status === 400 && (err.name === 'SyntaxError' || err instanceof SyntaxError)) {
    return fromError(new MalformedJson(`The body is not valid JSON (${err.message}). Send a JSON object.`))
  }
  const known = generic[status]
  if (known) return { statusCode: status, code: known[0], message: known[1] }
  if (status >= 400 && status < 500) {
    return { statusCode: status, code: 'MLB_BAD_REQUEST', message: err.message || 'The request is malformed.' }
  }
  return fromError(new Internal())
}

/** Turns Ajv's first error into one sentence that names the field, e.g. `body.classes[2] must ...`. */
export function describeValidation(issues: ValidationIssue[], context = 'body'): string {
  const issue = issues[0]
  if (!issue) return `The ${context} is invalid.`
  const where = context + issue.instancePath.replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.')
  switch (issue.keyword) {
    case 'additionalProperties':
      return `${where} has an unknown field '${String(issue.params.additionalProperty)}'. Remove it; GET /docs shows the schema.`
    case 'required':
      return `${where} is missing the required field '${String(issue.params.missingProperty)}'.`
    case 'type':
      return `${where} must be ${withArticle(String(issue.params.type))}.`
    default:
      return `${where} ${issue.message ?? 'is invalid'}.`
  }
}

function withArticle(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`
}

/** The only place that writes an error body; also answers unknown routes in the same shape. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((err: IncomingError, request: FastifyRequest, reply: FastifyReply) => {
    const e = toHttpError(err, bodyLimit)
    if (e.statusCode >= 500 && e.code === 'MLB_INTERNAL') request.log.error({ err }, 'request failed')
    else request.log.info({ code: e.code, statusCode: e.statusCode }, 'request refused')
    return reply.code(e.statusCode).send(errorBody(e))
  })
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/'
    const e = new RouteNotFound(request.method, path.length > 200 ? `${path.slice(0, 200)}…` : path)
    return reply.code(404).send(errorBody(fromError(e)))
  })
}

export function errorBody(e: HttpError): ErrorReply {
  return { statusCode: e.statusCode, code: e.code, error_message: e.message }
}

/** What Node's own HTTP parser refuses before Fastify sees a request, in the one error shape. */
const CLIENT_ERRORS: Record<string, [status: number, code: string, message: string]> = {
  HPE_HEADER_OVERFLOW: [431, 'MLB_HEADERS_TOO_LARGE', 'The request headers are too large (over 16 KB in all): send fewer or shorter headers.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'MLB_BAD_REQUEST', 'The request took too long to arrive: send it again.'],
}
const MALFORMED: [number, string, string] = [400, 'MLB_BAD_REQUEST', 'The request is not valid HTTP/1.1 (a malformed request line or header, such as a folded header line): fix the client.']
const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }

/**
 * Fastify's `clientErrorHandler`: a request that Node's parser refuses (headers over 16 KB: 431;
 * an obs-fold or other malformed line: 400) gets `{ statusCode, code, error_message }` too, then
 * the connection is closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: import('node:net').Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const [statusCode, code, message] = CLIENT_ERRORS[err.code ?? ''] ?? MALFORMED
  const body = JSON.stringify(errorBody({ statusCode, code, message }))
  socket.end(
    `HTTP/1.1 ${statusCode} ${REASONS[statusCode]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}
