import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DataType, encodeModel, floatTensor, int64Tensor, node, type Model } from './onnx-writer.js'
import { CONTENT_WORDS, overlapConstants, overlapNodes, STOP_WORDS, SYNONYMS, writeJson } from './tiny-nli.js'

/**
 * A tiny, deterministic NLI model typed as facebook/bart-large-mnli is: `model_type: 'bart'`,
 * BartForSequenceClassification, a cased byte-level BPE tokenizer with BART's special tokens
 * (`<s>` 0, `<pad>` 1, `</s>` 2, `<unk>` 3, `<mask>` last) and pair template
 * `<s> A </s></s> B </s>`, no token_type_ids, and a graph that reads its answer where BART's
 * classification head does: at the last `</s>` of each row, picked the way the exported ONNX graph
 * picks it (every `</s>` of the batch in order, reshaped to `[batch, -1]`, the last of each row).
 * Its "understanding" is the BERT-typed tiny model's: keyword overlap between premise and hypothesis.
 */

export const BART_SPECIAL = { bos: '<s>', pad: '<pad>', eos: '</s>', unk: '<unk>', mask: '<mask>' } as const

export const BART_TOKENIZER_CONFIG = {
  tokenizer_class: 'BartTokenizer',
  add_prefix_space: false,
  bos_token: '<s>',
  cls_token: '<s>',
  eos_token: '</s>',
  sep_token: '</s>',
  pad_token: '<pad>',
  unk_token: '<unk>',
  mask_token: '<mask>',
  errors: 'replace',
  model_max_length: 1024,
  trim_offsets: true,
  clean_up_tokenization_spaces: true,
}

/** config.json as facebook/bart-large-mnli's (labels, special ids), with `sizes` for the dimensions. */
export function bartNliConfig(vocabSize: number, sizes: Readonly<Record<string, number>> = {}) {
  return {
    model_type: 'bart',
    architectures: ['BartForSequenceClassification'],
    id2label: { 0: 'contradiction', 1: 'neutral', 2: 'entailment' },
    label2id: { contradiction: 0, neutral: 1, entailment: 2 },
    vocab_size: vocabSize,
    max_position_embeddings: 1024,
    is_encoder_decoder: true,
    bos_token_id: 0,
    pad_token_id: 1,
    eos_token_id: 2,
    decoder_start_token_id: 2,
    forced_eos_token_id: 2,
    d_model: 16,
    encoder_layers: 1,
    decoder_layers: 1,
    encoder_attention_heads: 1,
    decoder_attention_heads: 1,
    encoder_ffn_dim: 16,
    decoder_ffn_dim: 16,
    scale_embedding: false,
    ...sizes,
  }
}

/** GPT-2's byte → printable character table, which byte-level BPE vocabularies are written in. */
export function bytesToUnicode(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)
  const table: string[] = []
  let extra = 0
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable(b) ? b : 256 + extra++)
  return table
}

const capitalise = (w: string) => w.charAt(0).toUpperCase() + w.slice(1)

/**
 * The vocabulary (id order) and merges: the four special tokens, the 256 byte characters, then each
 * word of the tiny model's lists, lower-case and capitalised, with and without the leading space
 * (`Ġ`), built up one character at a time. Merges of space-led words rank first, so a word after a
 * space always becomes its own token; `<mask>` comes last, as in BART.
 */
export function tinyBartVocabulary(extraWords: readonly string[] = []): { vocab: string[]; merges: [string, string][] } {
  const space = bytesToUnicode()[32]!
  const vocab = [BART_SPECIAL.bos, BART_SPECIAL.pad, BART_SPECIAL.eos, BART_SPECIAL.unk, ...bytesToUnicode()]
  const known = new Set(vocab)
  const merges: [string, string][] = []
  const seen = new Set<string>()
  const chain = (word: string) => {
    const chars = [...word]
    let prefix = chars[0]!
    for (const c of chars.slice(1)) {
      const key = `${prefix} ${c}`
      if (!seen.has(key)) {
        seen.add(key)
        merges.push([prefix, c])
      }
      prefix += c
      if (!known.has(prefix)) {
        known.add(prefix)
        vocab.push(prefix)
      }
    }
  }
  const words = [...new Set([...STOP_WORDS, ...CONTENT_WORDS, ...extraWords])].flatMap((w) => [w, capitalise(w)])
  for (const w of words) chain(`${space}${w}`)
  for (const w of words) chain(w)
  vocab.push(BART_SPECIAL.mask)
  return { vocab, merges }
}

/** Writes config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx (+ the same as model_quantized.onnx). */
export async function generateTinyBartModel(dir: string): Promise<void> {
  const { vocab, merges } = tinyBartVocabulary()
  await mkdir(join(dir, 'onnx'), { recursive: true })
  const onnx = encodeModel(tinyBartGraph(vocab))
  await Promise.all([
    writeJson(join(dir, 'config.json'), bartNliConfig(vocab.length)),
    writeJson(join(dir, 'tokenizer.json'), bartTokenizerJson(vocab, merges)),
    writeJson(join(dir, 'tokenizer_config.json'), BART_TOKENIZER_CONFIG),
    writeFile(join(dir, 'onnx', 'model.onnx'), onnx),
    writeFile(join(dir, 'onnx', 'model_quantized.onnx'), onnx), // what dtype 'q8' loads
  ])
}

function tinyBartGraph(vocab: readonly string[]): Model {
  const v = vocab.length
  const space = bytesToUnicode()[32]!
  const content = new Set(CONTENT_WORDS)
  const conceptNames = [...new Set(CONTENT_WORDS.map((w) => SYNONYMS[w] ?? w))]
  const c = conceptNames.length
  const concepts = new Float32Array(v * c) // row t: one-hot of token t's concept (none for most tokens)
  const weights = new Float32Array(v) // 1 for a whole content word, however cased and spaced
  vocab.forEach((token, t) => {
    const word = (token.startsWith(space) ? token.slice(space.length) : token).toLowerCase()
    if (!content.has(word)) return
    concepts[t * c + conceptNames.indexOf(SYNONYMS[word] ?? word)] = 1
    weights[t] = 1
  })
  const f = DataType.FLOAT
  return {
    graphName: 'tiny_bart_nli',
    opset: 17,
    inputs: [
      { name: 'input_ids', dataType: DataType.INT64, shape: ['batch_size', 'encoder_sequence_length'] },
      { name: 'attention_mask', dataType: DataType.INT64, shape: ['batch_size', 'encoder_sequence_length'] },
    ],
    outputs: [{ name: 'logits', dataType: f, shape: ['batch_size', 3] }],
    initializers: [
      floatTensor('concepts', [v, c], concepts),
      floatTensor('weights', [v], weights),
      int64Tensor('eos_id', [], [vocab.indexOf(BART_SPECIAL.eos)]),
      int64Tensor('i0', [1], [0]),
      int64Tensor('last', [], [-1]),
      int64Tensor('three', [1], [3]),
      int64Tensor('minus1_three', [2], [-1, 3]),
      ...overlapConstants(2),
    ],
    nodes: [
      // Segments from a running count of </s>: 0 is <s> + premise, 1 the first </s>, 2 the second
      // </s> + hypothesis, 3 the last </s> and any padding.
      ...overlapNodes({ separator: 'eos_id', logits: 'row_logits' }),
      // BART's head: each token carries its row's answer (as its hidden state would); the graph takes
      // every </s> of the batch in order, reshapes them to [batch, -1] and keeps the last of each row,
      // as the exported BartForSequenceClassification does. Rows with different numbers of </s> fail
      // or read another row's answer, as they do in the real model.
      node('Unsqueeze', ['row_logits', 'axes_seq'], ['row_logits3']), // [B,1,3]
      node('Shape', ['input_ids'], ['ids_shape']), // [B,S]
      node('Concat', ['ids_shape', 'three'], ['token_shape'], { axis: 0 }), // [B,S,3]
      node('Expand', ['row_logits3', 'token_shape'], ['token_logits']),
      node('NonZero', ['is_separator_b'], ['eos_positions_t']), // [2,N]
      node('Transpose', ['eos_positions_t'], ['eos_positions'], { perm: [1, 0] }), // [N,2]
      node('GatherND', ['token_logits', 'eos_positions'], ['eos_logits']), // [N,3]
      node('Gather', ['ids_shape', 'i0'], ['batch']), // [1]
      node('Concat', ['batch', 'minus1_three'], ['per_row_shape'], { axis: 0 }),
      node('Reshape', ['eos_logits', 'per_row_shape'], ['eos_per_row']), // [B,K,3]
      node('Gather', ['eos_per_row', 'last'], ['logits'], { axis: 1 }), // [B,3]
    ],
  }
}

/** A byte-level BPE tokenizer as BART's (RoBERTa's) tokenizer.json is written. */
export function bartTokenizerJson(vocab: readonly string[], merges: readonly (readonly [string, string])[]) {
  const id = (token: string) => vocab.indexOf(token)
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: Object.values(BART_SPECIAL).map((content) => ({
      id: id(content),
      content,
      single_word: false,
      lstrip: content === BART_SPECIAL.mask,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [BART_SPECIAL.eos, id(BART_SPECIAL.eos)],
      cls: [BART_SPECIAL.bos, id(BART_SPECIAL.bos)],
      trim_offsets: true,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(vocab.map((token, i) => [token, i])),
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  }
}
