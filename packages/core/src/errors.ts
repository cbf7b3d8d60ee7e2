import createError from '@fastify/error'
import { Type, type Static } from '@sinclair/typebox'

/** The one error body every MLBlocks response uses, from core and from every plugin. */
export const ErrorReply = Type.Object(
  {
    statusCode: Type.Integer({ minimum: 400, maximum: 599 }),
    code: Type.String({ description: 'Stable, machine-readable error code (MLB_*).' }),
    error_message: Type.String({ description: 'What went wrong and what to do about it.' }),
  },
  { title: 'ErrorReply' },
)
export type ErrorReply = Static<typeof ErrorReply>

/**
 * Every error core can answer with. Plugins define their own with `createError` and an `MLB_` code;
 * the error handler keeps any error whose code starts with `MLB_` as it is.
 */
export const BadInput = createError<[string]>('MLB_BAD_INPUT', '%s', 400)
export const MalformedJson = createError<[string]>('MLB_MALFORMED_JSON', '%s', 400)
export const UnsupportedMediaType = createError<[string]>('MLB_UNSUPPORTED_MEDIA_TYPE', '%s', 415)
export const BodyTooLarge = createError<[number]>(
  'MLB_BODY_TOO_LARGE',
  'The request body is larger than the limit of %d bytes. Send a smaller body, or raise MLBLOCKS_BODY_LIMIT.',
  413,
)
export const RouteNotFound = createError<[string, string]>(
  'MLB_NOT_FOUND',
  'No route %s %s. GET /docs lists the routes.',
  404,
)
export const BlockNotFound = createError<[string]>(
  'MLB_BLOCK_NOT_FOUND',
  "No block named '%s'. GET /blocks lists the blocks you can call.",
  404,
)
export const BlockLoading = createError<[string, string]>(
  'MLB_BLOCK_LOADING',
  "Block '%s' is still loading%s. Retry after the number of seconds in the Retry-After header.",
  503,
)
export const BlockFailed = createError<[string, string]>(
  'MLB_BLOCK_FAILED',
  "Block '%s' failed to load: %s",
  503,
)
export const NotReady = createError<[string]>('MLB_NOT_READY', '%s', 503)
export const Unavailable = createError<[string]>('MLB_UNAVAILABLE', '%s', 503)
export const Internal = createError(
  'MLB_INTERNAL',
  'Something went wrong on the server. The details are in the server log under this request id.',
  500,
)
/** Start-up errors: thrown before the server listens, printed by the CLI as one line. */
export const ConfigError = createError<[string]>('MLB_CONFIG', '%s', 500)

/** The codes core writes, with their status, for the README and the OpenAPI document. */
export const errorCodes = [
  ['MLB_BAD_INPUT', 400, 'The body, query or path failed the route schema; the message names the field.'],
  ['MLB_MALFORMED_JSON', 400, 'The body is not valid JSON.'],
  ['MLB_BAD_REQUEST', 400, 'Any other malformed request.'],
  ['MLB_NOT_FOUND', 404, 'No such route.'],
  ['MLB_BLOCK_NOT_FOUND', 404, 'No block with that name.'],
  ['MLB_BODY_TOO_LARGE', 413, 'The body is larger than MLBLOCKS_BODY_LIMIT.'],
  ['MLB_UNSUPPORTED_MEDIA_TYPE', 415, 'The body is not application/json.'],
  ['MLB_INTERNAL', 500, 'An unexpected server error; the details are only in the log.'],
  ['MLB_BLOCK_LOADING', 503, 'The block is still loading; see Retry-After.'],
  ['MLB_BLOCK_FAILED', 503, 'The block failed to load; the message gives the reason.'],
  ['MLB_NOT_READY', 503, '/readyz: a block is loading or has failed.'],
  ['MLB_UNAVAILABLE', 503, 'A dependency (e.g. the database) is unreachable; retry later.'],
] as const
