import { defineBlock, Type } from '@mlblocks/core'

/** Answers with the text it was given: a block with no model, to try the server. */
export const echo = defineBlock({
  name: 'echo',
  description: 'Returns the text it receives.',
  input: Type.Object({ text: Type.String({ minLength: 1, maxLength: 10_000 }) }, { additionalProperties: false }),
  output: Type.Object({ text: Type.String() }),
  predict: async ({ text }) => ({ text }),
})
