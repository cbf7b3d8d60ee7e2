import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BadInput, described, ErrorReply } from '@mlblocks/core'
import { LoneSurrogate, RateLimited, Unauthorized, WrongCurrentPassword } from '../errors.js'
import type { Outcome } from '../services/login-limits.js'
import { wellFormed } from '../services/passwords.js'
import { toUserDetails } from '../services/principal.js'
import type { RouteDeps } from './deps.js'
import { LoginReply } from './login.js'
import { requireToken } from './me-api-keys.js'
import { NewPassword } from './schemas.js'

export const ChangePasswordBody = Type.Object(
  { current_password: Type.String({ minLength: 1, maxLength: 1024 }), new_password: NewPassword },
  { additionalProperties: false },
)

/**
 * `POST /me/password`: a fresh token, and every token issued before it (the caller's included) is
 * revoked. The current password is checked under the login limits (per address and per username),
 * so a stolen token cannot be used to guess it faster than /login allows.
 */
export const mePasswordRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { users, tokens, limits, audit }) => {
  app.post(
    '/me/password',
    {
      schema: {
        tags: ['me'],
        operationId: 'change_own_password',
        summary: 'Change your password: answers a fresh token and revokes every other token of yours',
        body: ChangePasswordBody,
        response: { 200: described(LoginReply, 'A fresh token: every token issued before it, the one that asked included, is revoked.'), 400: ErrorReply, 429: ErrorReply },
      },
    },
    async (request, reply) => {
      const userId = requireToken(request)
      const principal = request.principal!
      const { current_password, new_password } = request.body
      if (!wellFormed(current_password)) throw new LoneSurrogate('body.current_password')
      if (!wellFormed(new_password)) throw new LoneSurrogate('body.new_password')
      if (current_password.normalize('NFC') === new_password.normalize('NFC')) throw new BadInput('body.new_password is your current password: choose a new one.')
      const reservation = await limits.reserve(request.ip, principal.username)
      if (!reservation.ok) {
        const seconds = Math.max(1, Math.ceil(reservation.retryAfterMs / 1000))
        reply.header('retry-after', String(seconds))
        audit.record(request, { action: 'login.limited', target: `/me/password ${reservation.scope}`, status: 429 })
        throw new RateLimited(seconds)
      }
      let outcome: Outcome = 'not-checked'
      try {
        const changed = await users.changeOwnPassword(userId, current_password, new_password)
        if (changed === 'wrong') {
          outcome = 'failed'
          audit.record(request, { action: 'login.failed', actor: principal, status: 403, target: '/me/password' })
          throw new WrongCurrentPassword()
        }
        outcome = 'succeeded'
        // Changed by someone else meanwhile (an admin, another session): log in again.
        if (changed === 'changed') throw new Unauthorized()
        const issued = await tokens.issue(changed)
        if (!issued) throw new Unauthorized()
        audit.record(request, { action: 'user.password_changed', actor: principal, target: userId })
        return { token: issued.jwt, expiration_date: issued.expiresAt.toISOString(), user_details: toUserDetails(changed) }
      } finally {
        await reservation.settle(outcome)
      }
    },
  )
}
