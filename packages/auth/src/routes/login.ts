import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorReply } from '@mlblocks/core'
import { LoginFailed, LoneSurrogate, RateLimited } from '../errors.js'
import { wellFormed } from '../services/passwords.js'
import { toUserDetails } from '../services/principal.js'
import type { RouteDeps } from './index.js'
import { UserDetails, Username } from './schemas.js'

export const LoginBody = Type.Object(
  // The same username rule as at creation: no other name can exist, and odd bytes never reach SQL.
  { username: Username, password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
)
export const LoginReply = Type.Object({
  token: Type.String(),
  expiration_date: Type.String({ format: 'date-time' }),
  user_details: UserDetails,
})

export const loginRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { users, tokens, settings, guard, audit }) => {
  app.post(
    '/login',
    {
      // Per client address, the wait doubling each window it keeps trying; per username, LoginGuard.
      config: { public: true, rateLimit: { max: settings.loginRateLimit, timeWindow: 60_000, exponentialBackoff: true } },
      schema: {
        tags: ['auth'],
        summary: 'Log in: trade a username and password for a login token',
        body: LoginBody,
        response: { 200: LoginReply, 400: ErrorReply, 401: ErrorReply, 429: ErrorReply },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body
      if (!wellFormed(password)) throw new LoneSurrogate('body.password')
      // Usernames match without regard to case: so does their back-off (else `ADMIN`, `Admin`… would each get their own).
      const limited = username.toLowerCase()
      const wait = await guard.waitFor(limited)
      if (wait > 0) {
        const seconds = Math.ceil(wait / 1000)
        reply.header('retry-after', String(seconds))
        throw new RateLimited(seconds)
      }
      const { user, account } = await users.login(username, password)
      if (!user) {
        await guard.failed(limited)
        // The attempted name is recorded only when it is a real account: never what was typed.
        audit.record(request, { action: 'login.failed', actor: account && { userId: account.userId, username: account.username }, status: 401 })
        throw new LoginFailed()
      }
      await guard.succeeded(limited)
      // Written only if the user is as the password was checked against: a change meanwhile is a 401.
      const issued = await tokens.issue(user)
      if (!issued) throw new LoginFailed()
      audit.record(request, { action: 'login.succeeded', actor: { userId: user.userId, username: user.username } })
      return { token: issued.jwt, expiration_date: issued.expiresAt.toISOString(), user_details: toUserDetails(user) }
    },
  )
}
