import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { described, ErrorReply } from '@mlblocks/core'
import { LoginFailed, LoneSurrogate, RateLimited } from '../errors.js'
import type { Outcome } from '../services/login-limits.js'
import { wellFormed } from '../services/passwords.js'
import { rightsOf } from '../services/access.js'
import { toUserDetails } from '../services/principal.js'
import type { RouteDeps } from './deps.js'
import { UserDetails, Username } from './schemas.js'
import { addressKey } from '../services/client-address.js'

export const LoginBody = Type.Object(
  // The same username rule as at creation: no other name can exist, and odd bytes never reach SQL.
  { username: Username, password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false, examples: [{ username: 'admin', password: 'correct horse battery staple' }] },
)
export const LoginReply = Type.Object({
  token: Type.String(),
  expiration_date: Type.String({ format: 'date-time' }),
  user_details: UserDetails,
})

export const loginRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { users, tokens, limits, audit, metrics, groups }) => {
  app.post(
    '/login',
    {
      // Limited per client address and per username in the handler (services/login-limits.ts):
      // only failed logins count, so a request with no or a bad body (400) never does.
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Log in: trade a username and password for a login token',
        description: 'Send the token back as `Authorization: Bearer <token>` (in this page: Authorize, then bearer).',
        operationId: 'login',
        body: LoginBody,
        response: {
          200: described(LoginReply, 'Logged in: the token, when it expires, and who you are.'),
          400: ErrorReply,
          401: described(ErrorReply, 'Wrong username or password (MLB_LOGIN_FAILED): the same answer for either.'),
          429: described(ErrorReply, 'Too many failed logins from this address or for this username (MLB_RATE_LIMITED): retry after the seconds in Retry-After.'),
          503: described(ErrorReply, 'The auth database does not answer, or too many logins wait for their password check (MLB_UNAVAILABLE): retry after Retry-After.'),
        },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body
      if (!wellFormed(password)) throw new LoneSurrogate('body.password')
      // Reserved before argon2: of concurrent guesses, only those the limits allow reach it. The
      // limits key on the lower-cased name, as usernames match without regard to case, and on the
      // client's address (an IPv6 client by its /64, which it can fill with addresses).
      const reservation = await limits.reserve(addressKey(request.ip), username)
      if (!reservation.ok) {
        const seconds = Math.max(1, Math.ceil(reservation.retryAfterMs / 1000))
        reply.header('retry-after', String(seconds))
        // Never the typed name: the target says which limit it was.
        audit.record(request, { action: 'login.limited', target: `/login ${reservation.scope}`, status: 429 })
        metrics.login('limited')
        throw new RateLimited(seconds)
      }
      let outcome: Outcome = 'not-checked' // a 503 (queue full, database down) gives the attempt back
      try {
        const { user, account } = await users.login(username, password)
        if (!user) {
          outcome = 'failed'
          metrics.login('failed')
          // The attempted name is recorded only when it is a real account: never what was typed.
          audit.record(request, { action: 'login.failed', actor: account && { userId: account.userId, username: account.username }, status: 401 })
          throw new LoginFailed()
        }
        outcome = 'succeeded'
        // Written only if the user is as the password was checked against: a change meanwhile is a 401.
        const issued = await tokens.issue(user)
        if (!issued) {
          metrics.login('failed')
          throw new LoginFailed()
        }
        metrics.login('succeeded')
        audit.record(request, { action: 'login.succeeded', actor: { userId: user.userId, username: user.username } })
        // The blocks the user may call, their groups' included (as GET /me answers).
        const blocks = rightsOf(user, await groups.memberOf(user.userId)).blocks()
        return { token: issued.jwt, expiration_date: issued.expiresAt.toISOString(), user_details: { ...toUserDetails(user), blocks } }
      } finally {
        await reservation.settle(outcome)
      }
    },
  )
}
