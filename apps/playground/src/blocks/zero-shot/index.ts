import { BadInput, defineBlock, Type } from '@mlblocks/core'
import { HYPOTHESIS_TEMPLATE, loadNliModel } from './model.js'
import { scoreClasses } from './scoring.js'
import { zeroShotSettings, type ZeroShotSettings } from './settings.js'

export { zeroShotSettings, type ZeroShotSettings } from './settings.js'

/** The page's seed request: the example in the OpenAPI document and the README. */
export const SEED_EXAMPLE = {
  text: 'I have a problem with my iphone that needs to be resolved asap!!',
  classes: ['urgent', 'not urgent', 'phone', 'tablet', 'computer'],
  multipleTrue: true,
}

/**
 * Zero-shot text classification with an NLI model (facebook/bart-large-mnli by default): each class
 * becomes a hypothesis, and every hypothesis of a request goes through the model in one batch.
 */
export function zeroShotClassification(settings: ZeroShotSettings = zeroShotSettings()) {
  return defineBlock({
    name: 'zero-shot-classification',
    description: 'Scores how well each of the given classes describes the text (zero-shot, NLI-based).',
    input: Type.Object(
      {
        text: Type.String({ minLength: 1, maxLength: settings.maxTextLength, description: 'The text to classify.' }),
        classes: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
          minItems: 1,
          maxItems: settings.maxClasses,
          description: 'Candidate classes, each unique.',
        }),
        multipleTrue: Type.Optional(
          Type.Boolean({ default: false, description: 'Score each class on its own (0..1) instead of a softmax across classes.' }),
        ),
      },
      { additionalProperties: false, examples: [SEED_EXAMPLE] },
    ),
    output: Type.Object({
      scores: Type.Record(Type.String(), Type.Number({ minimum: 0, maximum: 1 }), { description: 'Score per class.' }),
      labels: Type.Array(Type.String(), { description: 'The classes, highest score first.' }),
    }),
    load: (context) => loadNliModel(settings, context),
    async predict({ text, classes, multipleTrue = false }, model) {
      if (text.trim() === '') throw new BadInput('body.text is blank: send the text to classify.')
      const seen = new Set<string>()
      for (const name of classes) {
        if (name.trim() === '') throw new BadInput('body.classes has a blank class name: every class needs a name.')
        if (seen.has(name)) throw new BadInput(`body.classes has '${name}' more than once: each class must be unique.`)
        seen.add(name)
      }
      const hypotheses = classes.map((c) => HYPOTHESIS_TEMPLATE.replace('{}', c))
      const scores = scoreClasses(await model.logits(text, hypotheses), model.labels, multipleTrue)
      const labels = classes.map((c, i) => [c, scores[i]!] as const).sort((a, b) => b[1] - a[1])
      return { scores: Object.fromEntries(labels), labels: labels.map(([c]) => c) }
    },
  })
}
