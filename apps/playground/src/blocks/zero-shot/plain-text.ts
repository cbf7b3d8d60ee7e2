import type { PreTrainedTokenizer } from '@huggingface/transformers'

interface AddedToken {
  content: string
  special?: boolean
}
interface TokenizerInternals {
  _tokenizerJSON?: { added_tokens?: AddedToken[]; model?: { vocab?: unknown } }
  _tokenizerConfig?: Record<string, unknown>
}

/**
 * A copy of `tokenizer` that reads the model's special tokens (`</s>`, `[SEP]`, `<pad>`…) in a
 * client's text as plain text, as Hugging Face's `split_special_tokens=True` does; the ones the
 * pair template adds stay special. Without it, a `</s>` typed into a text or a class moves the
 * pair's segments, and with BART, whose head reads the last `</s>` of each row out of all the
 * batch's `</s>` reshaped to `[batch, -1]`, it makes a combined call fail for every request in it
 * or read another request's row.
 *
 * When the model's vocabulary does not list every special token by itself (they would then have no
 * id), the tokenizer is returned unchanged.
 */
export function plainTextTokenizer(tokenizer: PreTrainedTokenizer): PreTrainedTokenizer {
  const { _tokenizerJSON: json, _tokenizerConfig: config } = tokenizer as unknown as TokenizerInternals
  const added = json?.added_tokens ?? []
  const vocab = json?.model?.vocab
  const special = added.filter((t) => t.special)
  if (!json || !config || special.length === 0 || !vocab || typeof vocab !== 'object' || Array.isArray(vocab)) return tokenizer
  if (!special.every((t) => Object.hasOwn(vocab, t.content))) return tokenizer
  const Tokenizer = tokenizer.constructor as new (json: unknown, config: unknown) => PreTrainedTokenizer
  return new Tokenizer({ ...json, added_tokens: added.filter((t) => !t.special) }, config)
}
