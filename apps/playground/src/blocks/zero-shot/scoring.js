/**
 * Turns the NLI logits of each (text, hypothesis) pair into one score per class, with the rules of
 * the transformers.js zero-shot pipeline:
 * - one class, or `multipleTrue`: each class on its own, softmax(contradiction, entailment)[entailment];
 * - otherwise: softmax of the entailment logits across the classes, so the scores sum to 1.
 */
export function scoreClasses(logits, labels, multipleTrue) {
    const entailment = logits.map((row) => at(row, labels.entailment));
    if (multipleTrue || logits.length === 1) {
        return logits.map((row, i) => softmax([at(row, labels.contradiction), entailment[i]])[1]);
    }
    return softmax(entailment);
}
export function softmax(values) {
    const max = Math.max(...values);
    const exps = values.map((v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / sum);
}
function at(row, index) {
    const value = row[index];
    if (value === undefined)
        throw new Error(`the model returned ${row.length} logits; label id ${index} is out of range`);
    return value;
}
/** Finds the entailment and contradiction ids as the pipeline does: by name, case-insensitively. */
export function nliLabels(label2id) {
    const ids = Object.fromEntries(Object.entries(label2id ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const entailment = ids.entailment;
    const contradiction = ids.contradiction ?? ids.not_entailment;
    if (entailment === undefined || contradiction === undefined) {
        throw new Error(`the model's config.json has no 'entailment' and 'contradiction' labels in label2id: it is not an NLI model (set MLBLOCKS_ZSC_MODEL to one).`);
    }
    return { entailment, contradiction };
}
