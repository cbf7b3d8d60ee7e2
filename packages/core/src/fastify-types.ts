import type { RouteOptions } from 'fastify'
import type { OpenAPIV3 } from 'openapi-types'
import type { Registry } from 'prom-client'
import type { BlockRegistry } from './blocks/registry.js'
import type { ServerSettings } from './settings.js'

/** Decides whether the current request may see and call a block. */
export type BlockAccess = (blockName: string) => boolean

export type SecurityScheme = OpenAPIV3.SecuritySchemeObject

/** A dependency `/readyz` asks about: resolves when it is usable, rejects (with the reason) when not. */
export type ReadinessCheck = () => Promise<void>

export interface MlblocksDecorator {
  readonly settings: ServerSettings
  /** The environment the server reads settings from (`createServer`'s `env`, default `process.env`); plugins read theirs here too. */
  readonly env: Readonly<Record<string, string | undefined>>
  readonly blocks: BlockRegistry
  /** Lets a plugin declare a security scheme in the OpenAPI document, for its routes' `schema.security`. */
  addSecurityScheme(name: string, scheme: SecurityScheme): void
  /** Lets a plugin report a dependency (e.g. its database) on `/readyz`: 503 while the check fails. */
  addReadinessCheck(name: string, check: ReadinessCheck): void
  /**
   * Every route registered so far, from the first (core's docs) on, as each `onRoute` hook left it:
   * an access-control plugin checks at `onReady` that none escaped it, even one registered before it.
   */
  routes(): readonly RouteOptions[]
  /**
   * The Prometheus registry `GET /metrics` answers from (prom-client), for plugins to add their
   * metrics to; undefined when metrics are off (`MLBLOCKS_METRICS_ENABLED=false`).
   */
  readonly metrics: Registry | undefined
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Open to everyone, even with an access-control plugin on (health, docs, login). Same as `access: 'public'`. */
    public?: boolean
    /**
     * Who may call this route with an access-control plugin on: anyone (`public`), any valid
     * credential (`credential`), or admins (`admin`; for `/metrics` also service accounts). A block's routes carry `block` instead. With
     * `@mlblocks/auth` on, a route that says neither stops start-up (deny by default).
     */
    access?: 'public' | 'credential' | 'admin'
    /** The block this route serves; access-control plugins check it against the caller's grants. */
    block?: string
  }
  interface FastifyRequest {
    /** Set by an access-control plugin; `null` means every block is visible. Read by `GET /blocks`. */
    blockAccess: BlockAccess | null
  }
  interface FastifyInstance {
    mlblocks: MlblocksDecorator
  }
}
