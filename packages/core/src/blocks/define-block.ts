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

/** The output type with every property and array readonly: what a block may return (core never changes it). */
export type ReadonlyDeep<T> = T extends readonly (infer U)[]
  ? T extends readonly [unknown, ...unknown[]] | readonly []
    ? { readonly [K in keyof T]: ReadonlyDeep<T[K]> }
    : readonly ReadonlyDeep<U>[]
  : T extends (...args: never[]) => unknown
    ? T
    : T extends object
      ? { readonly [K in keyof T]: ReadonlyDeep<T[K]> }
      : T

/**
 * What `defineBlock` accepts: a block whose `predict` may return any `R` that fits the output
 * schema. `R` is a `const` type parameter bounded by the schema's type, so that a literal such as
 * `'positive'` in the answer keeps its literal type without `as const`, also from an `async predict`.
 */
export interface BlockDefinitionInput<I extends TSchema, O extends TSchema, S, R> extends Omit<BlockDefinition<I, O, S>, 'predict'> {
  predict(input: Static<I>, state: S): Promise<R> | R
}

/** Identity function that infers the input, output and state types of a block. */
export function defineBlock<
  I extends TSchema,
  O extends TSchema,
  S = undefined,
  const R extends ReadonlyDeep<Static<O>> = ReadonlyDeep<Static<O>>,
>(block: BlockDefinitionInput<I, O, S, R>): BlockDefinition<I, O, S> {
  // Sound: `R` fits the output schema's type up to `readonly`, and core only reads the answer.
  return block as unknown as BlockDefinition<I, O, S>
}

// Blocks are stored side by side whatever their types; `predict` is a method, so this widening is allowed.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyBlock = BlockDefinition<TSchema, TSchema, any>
