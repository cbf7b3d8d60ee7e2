import type { OpenAPIV3 } from 'openapi-types'
import type { BlockRegistry } from './blocks/registry.js'
import type { ServerSettings } from './settings.js'

/** Decides whether the current request may see and call a block. */
export type BlockAccess = (blockName: string) => boolean

export type OpenApiExtension = (document: OpenAPIV3.Document) => void

export interface MlblocksDecorator {
  readonly settings: ServerSettings
  readonly blocks: BlockRegistry
  /** Lets a plugin add to the OpenAPI document, e.g. its security schemes. */
  extendOpenApi(extension: OpenApiExtension): void
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Open to everyone, even with an access-control plugin on (health, docs, login). */
    public?: boolean
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
