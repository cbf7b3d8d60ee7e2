import type { Static, TSchema } from '@sinclair/typebox'
import type { FastifyBaseLogger } from 'fastify'

/** What a block's `load()` receives. */
export interface LoadContext {
  /** Report how far loading has got, from 0 to 1 (e.g. the share of weights downloaded). */
  progress(fraction: number): void
  /** A child logger named after the block. */
  log: FastifyBaseLogger
  /** Aborted when the server closes before loading has finished. */
  signal: AbortSignal
}

/**
 * A model behind a typed predict endpoint. `input` and `output` are TypeBox schemas: core validates
 * every request against `input`, serializes every answer through `output`, and documents both.
 */
export interface BlockDefinition<I extends TSchema = TSchema, O extends TSchema = TSchema, S = unknown> {
  /** URL-safe name: lowercase letters, digits and dashes. Served at `/blocks/<name>`. */
  name: string
  description: string
  input: I
  output: O
  /** Heavy work done once at start-up (e.g. load weights). Its result is passed to `predict`. */
  load?(context: LoadContext): Promise<S>
  predict(input: Static<I>, state: S): Promise<Static<O>> | Static<O>
}

/** Identity function that infers the input, output and state types of a block. */
export function defineBlock<I extends TSchema, O extends TSchema, S = undefined>(
  block: BlockDefinition<I, O, S>,
): BlockDefinition<I, O, S> {
  return block
}

// Blocks are stored side by side whatever their types; `predict` is a method, so this widening is allowed.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyBlock = BlockDefinition<TSchema, TSchema, any>
