import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DataType, encodeModel, floatTensor, int64Tensor, node, type Model, type Node, type Tensor } from './onnx-writer.js'

/**
 * A tiny, deterministic NLI model that transformers.js loads like any BERT sequence classifier.
 * Its "understanding" is word overlap: the entailment logit rises with the share of the
 * hypothesis' content words whose concept also appears in the premise (a few synonyms share a
 * concept: asap → urgent, iphone → phone, laptop → computer, ipad → tablet).
 */

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const
const PUNCTUATION = [...'.,!?;:\'"()-']
/** Single characters and `##` pieces, so that any word of these characters still tokenizes. */
const CHARACTERS = [...'abcdefghijklmnopqrstuvwxyz0123456789']
/** Words that carry no meaning here: the hypothesis template's and the commonest English ones. */
export const STOP_WORDS = [
  'this', 'example', 'is', 'a', 'an', 'the', 'of', 'and', 'or', 'to', 'in', 'on', 'at', 'for', 'with', 'by', 'from',
  'i', 'my', 'me', 'you', 'your', 'it', 'its', 'we', 'our', 'us', 'they', 'them', 'their', 'he', 'she', 'his', 'her',
  'that', 'these', 'those', 'be', 'been', 'am', 'are', 'was', 'were', 'have', 'has', 'had', 'do', 'does', 'did',
  'can', 'could', 'will', 'would', 'should', 'may', 'must', 'so', 'as', 'but', 'if', 'than', 'then', 'about',
  'very', 'really', 'just', 'also', 'only', 'some', 'any', 'more', 'much', 'there', 'here', 'what', 'which', 'who',
  'how', 'when', 'where', 'why', 'all', 'up', 'out', 'into', 'get', 'got', 'please', 'hi', 'hello', 'thanks',
]
export const CONTENT_WORDS = [
  'urgent', 'asap', 'immediately', 'now', 'today', 'soon', 'later', 'emergency', 'not', 'no', 'never',
  'phone', 'iphone', 'smartphone', 'android', 'mobile', 'tablet', 'ipad', 'computer', 'laptop', 'desktop', 'pc',
  'screen', 'battery', 'keyboard', 'printer', 'camera', 'wifi', 'internet', 'network', 'software', 'device',
  'broken', 'cracked', 'problem', 'issue', 'bug', 'error', 'crash', 'slow', 'fast', 'question', 'complaint',
  'needs', 'need', 'resolved', 'fixed', 'fix', 'help', 'support', 'customer', 'service', 'new', 'old', 'buy',
  'order', 'package', 'shipping', 'delivery', 'late', 'return', 'cancel', 'refund', 'price', 'money', 'bill',
  'billing', 'invoice', 'account', 'password', 'login', 'email', 'website', 'app', 'update', 'spam',
  'weather', 'sunny', 'rain', 'sport', 'football', 'music', 'movie', 'food', 'pizza', 'travel', 'flight', 'hotel',
  'happy', 'sad', 'angry', 'great', 'good', 'bad', 'terrible', 'love', 'hate', 'positive', 'negative',
  'politics', 'science', 'technology', 'business', 'health', 'doctor', 'work', 'job', 'meeting', 'school',
  'game', 'play', 'win', 'lose', 'car', 'train',
]
/** Words that stand for another word's concept (in the premise and in the hypothesis alike). */
export const SYNONYMS: Readonly<Record<string, string>> = {
  asap: 'urgent',
  immediately: 'urgent',
  emergency: 'urgent',
  iphone: 'phone',
  smartphone: 'phone',
  android: 'phone',
  mobile: 'phone',
  ipad: 'tablet',
  laptop: 'computer',
  desktop: 'computer',
  pc: 'computer',
  cracked: 'broken',
  fix: 'fixed',
  need: 'needs',
  billing: 'bill',
  invoice: 'bill',
  pizza: 'food',
}

export const TOKENIZER_CONFIG = {
  tokenizer_class: 'BertTokenizer',
  do_lower_case: true,
  model_max_length: 512,
  pad_token: '[PAD]',
  unk_token: '[UNK]',
  cls_token: '[CLS]',
  sep_token: '[SEP]',
  mask_token: '[MASK]',
}

/** Entailment logit = SLOPE·share − OFFSET; contradiction is its mirror image; neutral is 0. */
export const SLOPE = 6
export const OFFSET = 3

/**
 * config.json of a BERT sequence classifier with facebook/bart-large-mnli's label layout (the zero-shot
 * pipeline looks up 'entailment' and 'contradiction' in label2id); `sizes` adds or overrides size fields.
 */
export function nliConfig(vocabSize: number, sizes: Readonly<Record<string, number>> = {}) {
  return {
    model_type: 'bert',
    architectures: ['BertForSequenceClassification'],
    id2label: { 0: 'contradiction', 1: 'neutral', 2: 'entailment' },
    label2id: { contradiction: 0, neutral: 1, entailment: 2 },
    vocab_size: vocabSize,
    max_position_embeddings: 512,
    pad_token_id: 0,
    ...sizes,
  }
}

/** The vocabulary in id order: special tokens first ([PAD] is 0), each token once. */
export function tinyNliVocabulary(): string[] {
  const pieces = CHARACTERS.map((c) => `##${c}`)
  return [...new Set([...SPECIAL, ...PUNCTUATION, ...CHARACTERS, ...pieces, ...STOP_WORDS, ...CONTENT_WORDS])]
}

/** Writes config.json, the tokenizer files and onnx/model.onnx (+ the same graph as model_quantized.onnx). */
export async function generateTinyNliModel(dir: string): Promise<void> {
  const vocab = tinyNliVocabulary()
  await mkdir(join(dir, 'onnx'), { recursive: true })
  const onnx = encodeModel(tinyNliGraph(vocab))
  await Promise.all([
    writeJson(join(dir, 'config.json'), nliConfig(vocab.length)),
    writeJson(join(dir, 'tokenizer.json'), tokenizerJson(vocab)),
    writeJson(join(dir, 'tokenizer_config.json'), TOKENIZER_CONFIG),
    writeFile(join(dir, 'onnx', 'model.onnx'), onnx),
    writeFile(join(dir, 'onnx', 'model_quantized.onnx'), onnx), // what dtype 'q8' loads
  ])
}

function tinyNliGraph(vocab: readonly string[]): Model {
  const v = vocab.length
  const ids = new Map(vocab.map((token, id) => [token, id]))
  const content = new Set(CONTENT_WORDS)
  const concepts = new Float32Array(v * v) // row t: one-hot of token t's concept
  const weights = new Float32Array(v) // 1 for content words; 0 for special tokens, punctuation, stop words, pieces
  vocab.forEach((token, t) => {
    concepts[t * v + (ids.get(SYNONYMS[token] ?? token) ?? t)] = 1
    weights[t] = content.has(token) ? 1 : 0
  })
  return {
    graphName: 'tiny_nli',
    opset: 17,
    inputs: [
      { name: 'input_ids', dataType: DataType.INT64, shape: ['batch', 'sequence'] },
      { name: 'attention_mask', dataType: DataType.INT64, shape: ['batch', 'sequence'] },
    ],
    outputs: [{ name: 'logits', dataType: DataType.FLOAT, shape: ['batch', 3] }],
    initializers: [
      floatTensor('concepts', [v, v], concepts),
      floatTensor('weights', [v], weights),
      int64Tensor('sep_id', [], [vocab.indexOf('[SEP]')]),
      ...overlapConstants(1),
    ],
    // Segments from a running count of [SEP]s: 0 is [CLS] + premise, 1 the first [SEP] + hypothesis,
    // 2 the last [SEP] and any padding. ([SEP] itself has weight 0, so it never counts.)
    nodes: overlapNodes({ separator: 'sep_id', logits: 'logits' }),
  }
}

/**
 * The constants `overlapNodes` reads, besides the `concepts` and `weights` tables and the separator
 * id; the hypothesis is the segment numbered `hypothesisSegment` of the running separator count.
 */
export function overlapConstants(hypothesisSegment: number): Tensor[] {
  return [
    int64Tensor('seq_axis', [], [1]),
    int64Tensor('axes_seq', [1], [1]),
    int64Tensor('axes_last', [1], [2]),
    floatTensor('zero', [], [0]),
    floatTensor('one', [], [1]),
    floatTensor('hypothesis_segment', [], [hypothesisSegment]),
    floatTensor('slope', [3], [-SLOPE, 0, SLOPE]),
    floatTensor('offset', [3], [OFFSET, 0, -OFFSET]),
  ]
}

/**
 * The tiny models' "understanding", one graph for both tokenizers: the share of the hypothesis'
 * content words whose concept the premise names, as three NLI logits per row (named `logits`).
 * `separator` names the separator token's id (`[SEP]`, `</s>`); the premise is the segment before
 * the first one.
 */
export function overlapNodes({ separator, logits }: { separator: string; logits: string }): Node[] {
  const f = DataType.FLOAT
  return [
    // Each token's concept, whether it is real (not padding), and whether it counts in a hypothesis.
    node('Gather', ['concepts', 'input_ids'], ['onehot'], { axis: 0 }), // [B,S,C]
    node('Cast', ['attention_mask'], ['real'], { to: f }), // [B,S]
    node('Gather', ['weights', 'input_ids'], ['weight']), // [B,S]
    node('Equal', ['input_ids', separator], ['is_separator_b']),
    node('Cast', ['is_separator_b'], ['is_separator'], { to: f }),
    node('CumSum', ['is_separator', 'seq_axis'], ['segment']),
    node('Equal', ['segment', 'zero'], ['in_premise_b']),
    node('Cast', ['in_premise_b'], ['in_premise'], { to: f }),
    node('Equal', ['segment', 'hypothesis_segment'], ['in_hypothesis_b']),
    node('Cast', ['in_hypothesis_b'], ['in_hypothesis'], { to: f }),
    node('Mul', ['in_premise', 'real'], ['premise_mask']),
    node('Mul', ['in_hypothesis', 'real'], ['hyp_real']),
    node('Mul', ['hyp_real', 'weight'], ['hyp_mask']),
    // Bags of concepts: which the premise has (0/1), how often the hypothesis' content words name each.
    node('Unsqueeze', ['premise_mask', 'axes_last'], ['premise_mask3']),
    node('Mul', ['onehot', 'premise_mask3'], ['premise_onehot']),
    node('ReduceSum', ['premise_onehot', 'axes_seq'], ['premise_counts'], { keepdims: 0 }), // [B,C]
    node('Min', ['premise_counts', 'one'], ['premise_has']),
    node('Unsqueeze', ['hyp_mask', 'axes_last'], ['hyp_mask3']),
    node('Mul', ['onehot', 'hyp_mask3'], ['hyp_onehot']),
    node('ReduceSum', ['hyp_onehot', 'axes_seq'], ['hyp_counts'], { keepdims: 0 }), // [B,C]
    // share = covered content words / content words (at least 1, so a hypothesis without any gives 0)
    node('Mul', ['hyp_counts', 'premise_has'], ['covered_counts']),
    node('ReduceSum', ['covered_counts', 'axes_seq'], ['covered'], { keepdims: 1 }), // [B,1]
    node('ReduceSum', ['hyp_counts', 'axes_seq'], ['total'], { keepdims: 1 }), // [B,1]
    node('Max', ['total', 'one'], ['total_at_least_1']),
    node('Div', ['covered', 'total_at_least_1'], ['share']),
    // logits = [−SLOPE·share + OFFSET, 0, SLOPE·share − OFFSET]
    node('Mul', ['share', 'slope'], ['scaled']), // [B,3]
    node('Add', ['scaled', 'offset'], [logits]),
  ]
}

/** A WordPiece BERT tokenizer in the Hugging Face tokenizers JSON format. */
export function tokenizerJson(vocab: readonly string[]) {
  const id = (token: string) => vocab.indexOf(token)
  const special = (token: string, typeId: number) => ({ SpecialToken: { id: token, type_id: typeId } })
  const sequence = (name: 'A' | 'B', typeId: number) => ({ Sequence: { id: name, type_id: typeId } })
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content) => ({
      id: id(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0), sequence('B', 1), special('[SEP]', 1)],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [id(t)], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, i) => [token, i])),
    },
  }
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`)
}
