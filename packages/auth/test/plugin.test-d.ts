// Type tests: checked by `pnpm typecheck` (tsc over src and test), not run by vitest.
import type { BlockAccess } from '@mlblocks/core'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'
import mlblocksAuth, { mlblocksAuthPlugin, type AuthOptions, type Principal, type Rights } from '../src/index.js'

describe('what @mlblocks/auth merges into fastify', () => {
  it('adds request.principal: the caller, or null on public routes', () => {
    expectTypeOf<FastifyRequest['principal']>().toEqualTypeOf<Principal | null>()
    expectTypeOf<Principal>().toEqualTypeOf<{
      userId: string
      username: string
      role: 'admin' | 'user' | 'service'
      blocks: readonly string[]
      rights: Rights
      via: 'token' | 'api_key'
      credentialId: string
      scope?: readonly string[] | null
      keyExpiresAt?: Date | null
    }>()
  })

  it('leaves core’s request.blockAccess as core declares it', () => {
    expectTypeOf<FastifyRequest['blockAccess']>().toEqualTypeOf<BlockAccess | null>()
  })
})

describe('the plugin', () => {
  it('is the default export, registered with AuthOptions', () => {
    expectTypeOf(mlblocksAuth).toEqualTypeOf(mlblocksAuthPlugin)
    expectTypeOf(mlblocksAuth).toExtend<FastifyPluginAsync<AuthOptions>>()
  })

  it('takes camelCase options, every one optional (the environment can supply it)', () => {
    expectTypeOf<{}>().toExtend<AuthOptions>()
    expectTypeOf<AuthOptions['jwtSecret']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<AuthOptions['tokenTtl']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<AuthOptions['cacheTtl']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<AuthOptions['env']>().toEqualTypeOf<Readonly<Record<string, string | undefined>> | undefined>()
  })
})
