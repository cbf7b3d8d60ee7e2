import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DataType, encodeModel, floatTensor, int64Tensor, node, tensor, type Model, type Node, type Tensor } from './onnx-writer.js'
import { nliConfig, TOKENIZER_CONFIG, tinyNliVocabulary, tokenizerJson, writeJson } from './tiny-nli.js'

/**
 * A BERT-shaped NLI classifier with random weights, for benchmarks: the real amount of compute of a
 * BERT encoder (embeddings, self-attention, feed-forward, layer norms, pooler, 3-way classifier)
 * without downloading any weights. Its answers mean nothing; its speed is that of the real thing.
 */
export interface EncoderShape {
  layers: number
  hidden: number
  heads: number
  intermediate: number
  vocab: number
  maxPositions: number
}

/** bert-base-uncased. */
export const BERT_BASE: EncoderShape = { layers: 12, hidden: 768, heads: 12, intermediate: 3072, vocab: 30_522, maxPositions: 512 }

/** Deterministic weights: a small xorshift PRNG, scaled like BERT's initialisation (σ ≈ 0.02). */
export function randomWeights(size: number, seed: number): Float32Array {
  const out = new Float32Array(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = ((x >>> 0) / 4294967296 - 0.5) * 0.07
  }
  return out
}

/** `extraWords` join the WordPiece vocabulary as whole words (the benchmarks' texts, so that they tokenize as in a real vocabulary). */
export async function generateBertEncoder(dir: string, shape: EncoderShape = BERT_BASE, extraWords: readonly string[] = []): Promise<void> {
  const words = [...new Set([...tinyNliVocabulary(), ...extraWords])]
  const vocab = [...words, ...Array.from({ length: Math.max(0, shape.vocab - words.length) }, (_, i) => `[unused${i}]`)]
  await mkdir(join(dir, 'onnx'), { recursive: true })
  const fullShape = { ...shape, vocab: vocab.length }
  await Promise.all([
    writeJson(
      join(dir, 'config.json'),
      nliConfig(vocab.length, {
        hidden_size: shape.hidden,
        num_hidden_layers: shape.layers,
        num_attention_heads: shape.heads,
        intermediate_size: shape.intermediate,
        max_position_embeddings: shape.maxPositions,
      }),
    ),
    writeJson(join(dir, 'tokenizer.json'), tokenizerJson(vocab)),
    writeJson(join(dir, 'tokenizer_config.json'), TOKENIZER_CONFIG),
    // fp32 weights (dtype 'fp32'): 440 MB at BERT-base size.
    writeFile(join(dir, 'onnx', 'model.onnx'), encodeModel(encoderGraph(fullShape, false))),
    // The same weights with every dense layer quantized to int8 (dtype 'q8'): 180 MB.
    writeFile(join(dir, 'onnx', 'model_quantized.onnx'), encodeModel(encoderGraph(fullShape, true))),
  ])
}

/**
 * Weights use 7 bits, [-64, 64] (`reduce_range`), as transformers.js's conversion script writes the
 * hub's q8 files: on CPUs without int8 dot products (AVX2, no VNNI) onnxruntime sums pairs of
 * uint8 × int8 products in 16 bits, which full-range weights can saturate.
 */
const REDUCED_RANGE = 64

/** Symmetric per-tensor int8 in the reduced range: `w ≈ q · scale`, zero point 0. */
export function quantizeInt8(w: Float32Array): { q: Int8Array; scale: number } {
  let max = 0
  for (let i = 0; i < w.length; i++) max = Math.max(max, Math.abs(w[i]!))
  const scale = max / REDUCED_RANGE || 1
  const q = new Int8Array(w.length) // Int8Array stores the rounded values; |w / scale| ≤ 64 by construction
  for (let i = 0; i < w.length; i++) q[i] = Math.round(w[i]! / scale)
  return { q, scale }
}

/**
 * With `quantized`, each dense layer is written as onnxruntime's dynamic quantization writes it
 * (`quantize_dynamic`, the q8 files on the hub): int8 weights, activations quantized to uint8 at
 * run time by DynamicQuantizeLinear, MatMulInteger, then rescaled to float. onnxruntime fuses
 * that pattern into one quantized matmul. Embeddings, attention scores and norms stay fp32.
 */
function encoderGraph(shape: EncoderShape, quantized: boolean): Model {
  const { hidden: h, heads, intermediate, layers, vocab, maxPositions } = shape
  const headSize = h / heads
  let seed = 1
  const initializers: Tensor[] = [
    floatTensor('word_embeddings', [vocab, h], randomWeights(vocab * h, seed++)),
    floatTensor('position_embeddings', [maxPositions, h], randomWeights(maxPositions * h, seed++)),
    floatTensor('ones_h', [h], new Float32Array(h).fill(1)),
    floatTensor('zeros_h', [h], new Float32Array(h)),
    floatTensor('one', [], [1]),
    floatTensor('half', [], [0.5]),
    floatTensor('sqrt2', [], [Math.SQRT2]),
    floatTensor('mask_penalty', [], [-10000]),
    floatTensor('scale', [], [1 / Math.sqrt(headSize)]),
    int64Tensor('i0', [], [0]),
    int64Tensor('i1', [], [1]),
    int64Tensor('axes_12', [2], [1, 2]),
    int64Tensor('split_heads', [4], [0, 0, heads, headSize]),
    int64Tensor('merge_heads', [3], [0, 0, h]),
    int64Tensor('cls_index', [], [0]),
  ]
  const nodes: Node[] = []
  const dense = denseLayers({ nodes, initializers }, quantized, () => seed++)
  const layerNorm = (name: string, input: string): string => {
    nodes.push(node('LayerNormalization', [input, 'ones_h', 'zeros_h'], [name], { axis: -1, epsilon: { float: 1e-12 } }))
    return name
  }

  // Embeddings: word + position, then layer norm.
  nodes.push(
    node('Gather', ['word_embeddings', 'input_ids'], ['words']),
    node('Shape', ['input_ids'], ['ids_shape']),
    node('Gather', ['ids_shape', 'i1'], ['seq_len']),
    node('Range', ['i0', 'seq_len', 'i1'], ['positions']),
    node('Gather', ['position_embeddings', 'positions'], ['position_vectors']),
    node('Add', ['words', 'position_vectors'], ['embedded']),
    // Padding never attends: (1 - mask) * -10000, shaped [B, 1, 1, S].
    node('Cast', ['attention_mask'], ['mask_f'], { to: DataType.FLOAT }),
    node('Sub', ['one', 'mask_f'], ['mask_inv']),
    node('Mul', ['mask_inv', 'mask_penalty'], ['mask_add']),
    node('Unsqueeze', ['mask_add', 'axes_12'], ['mask_bias']),
  )
  let x = layerNorm('embeddings', 'embedded')

  const { attention, feedForward } = transformerBlocks(nodes, dense, h, intermediate)
  for (let l = 0; l < layers; l++) {
    const p = `l${l}`
    nodes.push(node('Add', [attention(`${p}.attn`, x, x, 'mask_bias'), x], [`${p}.res1`]))
    const afterAttention = layerNorm(`${p}.ln1`, `${p}.res1`)
    nodes.push(node('Add', [feedForward(`${p}.ffn`, afterAttention), afterAttention], [`${p}.res2`]))
    x = layerNorm(`${p}.ln2`, `${p}.res2`)
  }

  // Pooler (tanh of a dense layer on [CLS]) and the 3-way classifier.
  nodes.push(node('Gather', [x, 'cls_index'], ['cls'], { axis: 1 }))
  classificationHead(nodes, dense, 'cls', h, { dense: 'pooler', out: 'classifier' })
  return nliGraph('bert_nli_random', ['batch', 'sequence'], initializers, nodes)
}

/** The NLI head: tanh of a dense layer on `input`, then the 3-way projection, output `logits`. */
export function classificationHead(nodes: Node[], dense: Dense, input: string, h: number, names: { dense: string; out: string }): void {
  const pooled = dense(names.dense, input, h, h)
  nodes.push(node('Tanh', [pooled], ['pooled']))
  const logits = dense(names.out, 'pooled', h, 3)
  nodes.push(node('Identity', [logits], ['logits']))
}

/** A sequence classifier's graph: `input_ids` and `attention_mask` in ([batch, sequence] as `axes` names them), `logits` [batch, 3] out. */
export function nliGraph(graphName: string, [batch, sequence]: readonly [string, string], initializers: Tensor[], nodes: Node[]): Model {
  return {
    graphName,
    opset: 17,
    inputs: [
      { name: 'input_ids', dataType: DataType.INT64, shape: [batch, sequence] },
      { name: 'attention_mask', dataType: DataType.INT64, shape: [batch, sequence] },
    ],
    outputs: [{ name: 'logits', dataType: DataType.FLOAT, shape: [batch, 3] }],
    initializers,
    nodes,
  }
}

/** What `denseLayers` returns: adds one dense layer, answers its output's name. */
type Dense = ReturnType<typeof denseLayers>

/**
 * The two sublayers of a transformer layer, added to `nodes`, each answering its output's name:
 * multi-head attention of `query` over `memory` with an additive `bias` broadcast to
 * [B, heads, Sq, Sk], and the feed-forward with exact GELU, 0.5·x·(1 + erf(x/√2)). The graph holds
 * the constants they read: `split_heads`, `merge_heads`, `scale` (1/√head size), `sqrt2`, `one`, `half`.
 */
export function transformerBlocks(nodes: Node[], dense: Dense, h: number, ffn: number) {
  const splitHeads = (t: string) => {
    nodes.push(node('Reshape', [t, 'split_heads'], [`${t}.r`]), node('Transpose', [`${t}.r`], [`${t}.t`], { perm: [0, 2, 1, 3] }))
    return `${t}.t`
  }
  const attention = (p: string, query: string, memory: string, bias: string): string => {
    const q = splitHeads(dense(`${p}.q`, query, h, h))
    const k = splitHeads(dense(`${p}.k`, memory, h, h))
    const v = splitHeads(dense(`${p}.v`, memory, h, h))
    nodes.push(
      node('Transpose', [k], [`${p}.kT`], { perm: [0, 1, 3, 2] }),
      node('MatMul', [q, `${p}.kT`], [`${p}.scores_raw`]),
      node('Mul', [`${p}.scores_raw`, 'scale'], [`${p}.scores_scaled`]),
      node('Add', [`${p}.scores_scaled`, bias], [`${p}.scores`]),
      node('Softmax', [`${p}.scores`], [`${p}.probs`], { axis: -1 }),
      node('MatMul', [`${p}.probs`, v], [`${p}.context_heads`]),
      node('Transpose', [`${p}.context_heads`], [`${p}.context_t`], { perm: [0, 2, 1, 3] }),
      node('Reshape', [`${p}.context_t`, 'merge_heads'], [`${p}.context`]),
    )
    return dense(`${p}.o`, `${p}.context`, h, h)
  }
  const feedForward = (p: string, input: string): string => {
    const up = dense(`${p}.fc1`, input, h, ffn)
    nodes.push(
      node('Div', [up, 'sqrt2'], [`${p}.g1`]),
      node('Erf', [`${p}.g1`], [`${p}.g2`]),
      node('Add', [`${p}.g2`, 'one'], [`${p}.g3`]),
      node('Mul', [up, `${p}.g3`], [`${p}.g4`]),
      node('Mul', [`${p}.g4`, 'half'], [`${p}.gelu`]),
    )
    return dense(`${p}.fc2`, `${p}.gelu`, ffn, h)
  }
  return { attention, feedForward }
}

/**
 * Dense layers (`x·W + b`, random W, zero b) added to a graph. With `quantized`, each is written as
 * onnxruntime's dynamic quantization writes it (`quantize_dynamic`, the q8 files on the hub): int8
 * weights, the input quantized to uint8 once however many layers read it, MatMulInteger, then the
 * scales. `nextSeed` gives each layer's weights their own seed, in the caller's sequence.
 */
export function denseLayers(graph: { nodes: Node[]; initializers: Tensor[] }, quantized: boolean, nextSeed: () => number) {
  const { nodes, initializers } = graph
  const quantizedInputs = new Set<string>()
  /** `input` as uint8 with its scale and zero point, quantized once however many layers read it. */
  const quantizeInput = (input: string): [string, string, string] => {
    const outputs: [string, string, string] = [`${input}.q`, `${input}.q_scale`, `${input}.q_zero`]
    if (!quantizedInputs.has(input)) nodes.push(node('DynamicQuantizeLinear', [input], outputs))
    quantizedInputs.add(input)
    return outputs
  }
  return (name: string, input: string, inSize: number, outSize: number): string => {
    const weights = randomWeights(inSize * outSize, nextSeed())
    initializers.push(floatTensor(`${name}.b`, [outSize], new Float32Array(outSize)))
    if (quantized) {
      const { q, scale } = quantizeInt8(weights)
      initializers.push(
        tensor(`${name}.wq`, DataType.INT8, [inSize, outSize], q),
        floatTensor(`${name}.w_scale`, [], [scale]),
        tensor(`${name}.w_zero`, DataType.INT8, [], [0]),
      )
      const [xq, xScale, xZero] = quantizeInput(input)
      nodes.push(
        node('MatMulInteger', [xq, `${name}.wq`, xZero, `${name}.w_zero`], [`${name}.mmi`]),
        node('Cast', [`${name}.mmi`], [`${name}.mmf`], { to: DataType.FLOAT }),
        node('Mul', [xScale, `${name}.w_scale`], [`${name}.scale`]),
        node('Mul', [`${name}.mmf`, `${name}.scale`], [`${name}.mm`]),
      )
    } else {
      initializers.push(floatTensor(`${name}.w`, [inSize, outSize], weights))
      nodes.push(node('MatMul', [input, `${name}.w`], [`${name}.mm`]))
    }
    nodes.push(node('Add', [`${name}.mm`, `${name}.b`], [name]))
    return name
  }
}
