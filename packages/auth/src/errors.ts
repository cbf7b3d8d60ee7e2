import createError from '@fastify/error'

/** Auth's error codes. Core's error handler writes them in the one MLBlocks shape. */
export const Unauthorized = createError(
  'MLB_UNAUTHORIZED',
  'A valid credential is required: send Authorization: Bearer <token or API key>, or X-API-Key: <API key>. Log in again if your token has expired or was revoked.',
  401,
)
export const LoginFailed = createError('MLB_LOGIN_FAILED', 'Wrong username or password.', 401)
export const AdminOnly = createError('MLB_ADMIN_ONLY', 'This route is for admins only.', 403)
export const BlockForbidden = createError<[string]>(
  'MLB_BLOCK_NOT_GRANTED',
  "You may not call the block '%s'. Ask an admin to grant it to you.",
  403,
)
export const UserNotFound = createError<[string]>('MLB_USER_NOT_FOUND', "No user with id '%s'.", 404)
export const ApiKeyNotFound = createError<[string]>('MLB_API_KEY_NOT_FOUND', "No API key with id '%s'.", 404)
export const GroupNotFound = createError<[string]>('MLB_GROUP_NOT_FOUND', "No group with id '%s'. GET /admin/groups lists them.", 404)
export const GroupNameTaken = createError<[string]>('MLB_GROUP_NAME_TAKEN', "A group named '%s' exists (names are compared without regard to case): choose another name.", 409)
export const AnonymousRateLimited = createError<[number, number]>(
  'MLB_RATE_LIMITED',
  'Anonymous callers may make %d predictions a minute from one address. Retry after %d seconds, or send a credential.',
  429,
)
export const UsernameTaken = createError<[string]>('MLB_USERNAME_TAKEN', "The username '%s' is taken.", 409)
export const LastAdmin = createError(
  'MLB_LAST_ADMIN',
  'This is the last active admin: create or promote another admin first.',
  409,
)
export const NotATokenLogout = createError(
  'MLB_BAD_REQUEST',
  'Log out ends a login token. To stop an API key, an admin deletes it: DELETE /admin/apikeys/:id.',
  400,
)
export const RateLimited = createError<[number]>(
  'MLB_RATE_LIMITED',
  'Too many login attempts. Retry after %d seconds.',
  429,
)
export const RequestBudgetExceeded = createError<[number]>(
  'MLB_RATE_LIMITED',
  'This credential has used its request budget. Retry after %d seconds.',
  429,
)
export const Unavailable = createError(
  'MLB_UNAVAILABLE',
  'The auth database is unreachable. Retry in a few seconds.',
  503,
)
export const PasswordsBusy = createError(
  'MLB_UNAVAILABLE',
  'Too many logins are waiting for their password check. Retry in a second.',
  503,
)

/** A password holding an unpaired UTF-16 surrogate: hashed as UTF-8 it would become U+FFFD, like any other. */
export const LoneSurrogate = createError<[string]>(
  'MLB_BAD_INPUT',
  '%s is not valid Unicode (it holds a lone surrogate, an unpaired \\uD800-\\uDFFF): send the text as it was typed.',
  400,
)

/** For the README and the OpenAPI document. */
export const authErrorCodes = [
  ['MLB_BAD_INPUT', 400, 'a field fails its schema or the password policy, a password holds a lone surrogate, a date or id is out of range; the message names it'],
  ['MLB_BAD_REQUEST', 400, 'POST /logout with an API key'],
  ['MLB_UNAUTHORIZED', 401, 'missing, malformed, expired or revoked credential, or a disabled or deleted user (one message)'],
  ['MLB_LOGIN_FAILED', 401, 'wrong username or password, or the user changed while the login checked the password (one message, same time)'],
  ['MLB_ADMIN_ONLY', 403, 'a route for admins only (every /admin route), called without the admin role'],
  ['MLB_BLOCK_NOT_GRANTED', 403, 'a block that neither the user, nor their groups, nor the key were granted (named)'],
  ['MLB_USER_NOT_FOUND', 404, 'no user with that id'],
  ['MLB_GROUP_NOT_FOUND', 404, 'no group with that id'],
  ['MLB_API_KEY_NOT_FOUND', 404, 'no API key with that id'],
  ['MLB_USERNAME_TAKEN', 409, 'the username exists'],
  ['MLB_GROUP_NAME_TAKEN', 409, 'a group of that name exists (case ignored)'],
  ['MLB_LAST_ADMIN', 409, 'deleting, disabling or demoting the last active admin'],
  ['MLB_RATE_LIMITED', 429, 'too many failed logins (per address, or per username with a back-off capped by AUTH_LOGIN_MAX_BACKOFF), or a credential over its request budget, or an anonymous address over AUTH_ANONYMOUS_RATE_LIMIT; see Retry-After'],
  ['MLB_UNAVAILABLE', 503, 'the database is unreachable, or too many password checks are queued (see Retry-After)'],
  ['MLB_BLOCK_NOT_GRANTED', 403, "an API key's scope excludes the block (named), or a self-service key asked for a block its owner may not call"],
  ['MLB_ADMIN_ONLY', 403, 'a scoped API key on an admin route (admin routes need a login token or an unscoped key)'],
  ['MLB_TOKEN_REQUIRED', 403, 'an API key on /me/apikeys or /me/password (they need a login token)'],
  ['MLB_SELF_SERVICE_OFF', 403, '/me/apikeys while AUTH_SELF_SERVICE_KEYS=false'],
  ['MLB_WRONG_PASSWORD', 403, 'POST /me/password with a wrong current_password'],
  ['MLB_API_KEY_NOT_LIVE', 409, 'rotating a revoked or expired key'],
  ['MLB_TOO_MANY_KEYS', 409, 'a self-service key past the limit of live keys per user'],
] as const

// Issue 20: scoped, self-service and rotated keys, service accounts, own password.

/** A key whose scope leaves out a block its owner may call. */
export const KeyScopeExcludes = createError<[string]>(
  'MLB_BLOCK_NOT_GRANTED',
  "This API key's scope excludes the block '%s': the key may call only the blocks it was issued for. Use a key whose scope includes it, or issue one.",
  403,
)
/** A self-service key asked for a block its owner may not call. */
export const ScopeBeyondRights = createError<[string]>(
  'MLB_BLOCK_NOT_GRANTED',
  "You may not call the block '%s', so no key of yours can be scoped to it. Leave it out, or ask an admin to grant it to you.",
  403,
)
export const ScopedKeyNotAdmin = createError(
  'MLB_ADMIN_ONLY',
  'This API key is scoped to some blocks, so it cannot use admin routes: use a login token, or an API key issued without blocks.',
  403,
)
export const TokenRequired = createError(
  'MLB_TOKEN_REQUIRED',
  'Managing your API keys and your password needs a login token (POST /login): an API key cannot do it.',
  403,
)
export const SelfServiceKeysOff = createError(
  'MLB_SELF_SERVICE_OFF',
  'Self-service API keys are turned off on this server (AUTH_SELF_SERVICE_KEYS=false): ask an admin to issue or revoke your key.',
  403,
)
export const WrongCurrentPassword = createError(
  'MLB_WRONG_PASSWORD',
  'body.current_password is not your current password: nothing was changed.',
  403,
)
export const ApiKeyNotLive = createError<[string, string]>(
  'MLB_API_KEY_NOT_LIVE',
  "The API key '%s' is %s, so it cannot be rotated: issue a new key instead.",
  409,
)
export const TooManyKeys = createError<[number]>(
  'MLB_TOO_MANY_KEYS',
  'You hold %d live API keys, the most one user may issue themselves: delete one you no longer use first (DELETE /me/apikeys/:id).',
  409,
)

