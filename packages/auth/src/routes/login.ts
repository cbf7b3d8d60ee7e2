import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorReply } from '@mlblocks/core'
import { LoginFailed } from '../errors.js'
import { toUserDetails } from '../services/principal.js'
import type { RouteDeps } from './index.js'
import { UserDetails } from './schemas.js'

export const LoginBody = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
)
export const LoginReply = Type.Object({
  token: Type.String(),
  expiration_date: Type.String({ format: 'date-time' }),
  user_details: UserDetails,
})

export const loginRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { users, tokens, settings }) => {
  app.post(
    '/login',
    {
      config: { public: true, rateLimit: { max: settings.loginRateLimit, timeWindow: 60_000 } },
      schema: {
        tags: ['auth'],
        summary: 'Log in: trade a username and password for a login token',
        body: LoginBody,
        response: { 200: LoginReply, 400: ErrorReply, 401: ErrorReply, 429: ErrorReply },
      },
    },
    async (request) => {
      const user = await users.login(request.body.username, request.body.password)
      if (!user) throw new LoginFailed()
      const issued = await tokens.issue(user)
      return { token: issued.jwt, expiration_date: issued.expiresAt.toISOString(), user_details: toUserDetails(user) }
    },
  )
}
