import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { classificationHead, denseLayers, nliGraph, randomWeights, transformerBlocks } from './bert-encoder.js'
import { DataType, encodeModel, floatTensor, int64Tensor, node, type Model, type Node, type Tensor } from './onnx-writer.js'
import { BART_SPECIAL, BART_TOKENIZER_CONFIG, bartNliConfig, bartTokenizerJson, tinyBartVocabulary } from './tiny-bart.js'
import { writeJson } from './tiny-nli.js'

/**
 * A BartForSequenceClassification with random weights in facebook/bart-large-mnli's architecture,
 * for benchmarks: shared embeddings, learned positions (offset 2) and layernorm_embedding, post-LN
 * encoder layers (self-attention, GELU feed-forward), decoder layers fed the input shifted right
 * (causal self-attention, cross-attention over the encoder, feed-forward), and the head on the last
 * `</s>` of each row (dense, tanh, 3-way out_proj). Its answers mean nothing; its compute is the
 * real model's. The tokenizer is the tiny BART-typed one (byte-level BPE), padded to the vocabulary size.
 */
export interface BartShape {
  encoderLayers: number
  decoderLayers: number
  dModel: number
  heads: number
  ffn: number
  vocab: number
  maxPositions: number
}

/** facebook/bart-large(-mnli): 12 + 12 layers, d_model 1024, 16 heads, FFN 4096, vocabulary 50,265. */
export const BART_LARGE: BartShape = { encoderLayers: 12, decoderLayers: 12, dModel: 1024, heads: 16, ffn: 4096, vocab: 50_265, maxPositions: 1024 }

/**
 * Writes config.json, the tokenizer files, onnx/model.onnx (fp32: 1.6 GB at BART-large size) and
 * onnx/model_quantized.onnx (every dense layer in int8, as in bert-encoder.ts: about 0.5 GB), one
 * after the other to bound memory. `extraWords` join the tokenizer's whole-word vocabulary.
 */
export async function generateBartClassifier(dir: string, shape: BartShape = BART_LARGE, extraWords: readonly string[] = []): Promise<void> {
  const { vocab: words, merges } = tinyBartVocabulary(extraWords)
  const mask = words.pop()! // <mask> stays last, as in BART
  const vocab = [...words, ...Array.from({ length: Math.max(0, shape.vocab - words.length - 1) }, (_, i) => `<unused${i}>`), mask]
  const full = { ...shape, vocab: vocab.length }
  await mkdir(join(dir, 'onnx'), { recursive: true })
  await writeJson(
    join(dir, 'config.json'),
    bartNliConfig(vocab.length, {
      d_model: shape.dModel,
      encoder_layers: shape.encoderLayers,
      decoder_layers: shape.decoderLayers,
      encoder_attention_heads: shape.heads,
      decoder_attention_heads: shape.heads,
      encoder_ffn_dim: shape.ffn,
      decoder_ffn_dim: shape.ffn,
      max_position_embeddings: shape.maxPositions,
    }),
  )
  await writeJson(join(dir, 'tokenizer.json'), bartTokenizerJson(vocab, merges))
  await writeJson(join(dir, 'tokenizer_config.json'), BART_TOKENIZER_CONFIG)
  await writeFile(join(dir, 'onnx', 'model.onnx'), encodeModel(bartGraph(full, false)))
  await writeFile(join(dir, 'onnx', 'model_quantized.onnx'), encodeModel(bartGraph(full, true)))
}

function bartGraph(shape: BartShape, quantized: boolean): Model {
  const { dModel: h, heads, ffn, vocab, maxPositions } = shape
  const headSize = h / heads
  let seed = 101
  const initializers: Tensor[] = [
    floatTensor('shared', [vocab, h], randomWeights(vocab * h, seed++)),
    floatTensor('ones_h', [h], new Float32Array(h).fill(1)),
    floatTensor('zeros_h', [h], new Float32Array(h)),
    floatTensor('one', [], [1]),
    floatTensor('half', [], [0.5]),
    floatTensor('sqrt2', [], [Math.SQRT2]),
    floatTensor('mask_penalty', [], [-10000]),
    floatTensor('scale', [], [1 / Math.sqrt(headSize)]),
    int64Tensor('i0', [], [0]),
    int64Tensor('i1', [], [1]),
    int64Tensor('i0_1', [1], [0]),
    int64Tensor('i1_1', [1], [1]),
    int64Tensor('minus1_1', [1], [-1]),
    int64Tensor('last', [], [-1]),
    int64Tensor('position_offset', [], [2]),
    int64Tensor('axes_12', [2], [1, 2]),
    int64Tensor('axes_0', [1], [0]),
    int64Tensor('axes_1', [1], [1]),
    int64Tensor('split_heads', [4], [0, 0, heads, headSize]),
    int64Tensor('merge_heads', [3], [0, 0, h]),
    int64Tensor('minus1_h', [2], [-1, h]),
    int64Tensor('eos_id', [], [2]),
    int64Tensor('decoder_start', [1, 1], [2]),
  ]
  const nodes: Node[] = []
  const dense = denseLayers({ nodes, initializers }, quantized, () => seed++)
  const layerNorm = (name: string, input: string): string => {
    nodes.push(node('LayerNormalization', [input, 'ones_h', 'zeros_h'], [name], { axis: -1, epsilon: { float: 1e-5 } }))
    return name
  }
  const { attention, feedForward } = transformerBlocks(nodes, dense, h, ffn)
  const residualNorm = (name: string, sublayer: string, input: string): string => {
    nodes.push(node('Add', [sublayer, input], [`${name}.res`]))
    return layerNorm(name, `${name}.res`)
  }
  /** Token + learned position embeddings (positions offset by 2, as BART's), then layernorm_embedding. */
  const embed = (p: string, ids: string): string => {
    initializers.push(floatTensor(`${p}.positions`, [maxPositions + 2, h], randomWeights((maxPositions + 2) * h, seed++)))
    nodes.push(
      node('Gather', ['shared', ids], [`${p}.tokens`]),
      node('Shape', [ids], [`${p}.ids_shape`]),
      node('Gather', [`${p}.ids_shape`, 'i1'], [`${p}.seq_len`]),
      node('Range', ['i0', `${p}.seq_len`, 'i1'], [`${p}.range`]),
      node('Add', [`${p}.range`, 'position_offset'], [`${p}.position_ids`]),
      node('Gather', [`${p}.positions`, `${p}.position_ids`], [`${p}.position_vectors`]),
      node('Add', [`${p}.tokens`, `${p}.position_vectors`], [`${p}.embedded`]),
    )
    return layerNorm(`${p}.layernorm_embedding`, `${p}.embedded`)
  }

  // Padding bias for attention over the encoder's tokens: (1 - mask) · -10000, shaped [B, 1, 1, S].
  nodes.push(
    node('Cast', ['attention_mask'], ['mask_f'], { to: DataType.FLOAT }),
    node('Sub', ['one', 'mask_f'], ['mask_inv']),
    node('Mul', ['mask_inv', 'mask_penalty'], ['mask_add']),
    node('Unsqueeze', ['mask_add', 'axes_12'], ['padding_bias']),
  )
  let x = embed('encoder', 'input_ids')
  for (let l = 0; l < shape.encoderLayers; l++) {
    const p = `encoder.${l}`
    x = residualNorm(`${p}.self_attn_layer_norm`, attention(`${p}.self_attn`, x, x, 'padding_bias'), x)
    x = residualNorm(`${p}.final_layer_norm`, feedForward(`${p}.ffn`, x), x)
  }
  const encoded = x

  // Decoder input: the input shifted right, starting with decoder_start_token_id (</s>).
  nodes.push(
    node('Shape', ['input_ids'], ['ids_shape']),
    node('Gather', ['ids_shape', 'i0_1'], ['batch']),
    node('Gather', ['ids_shape', 'i1'], ['seq_len']),
    node('Concat', ['batch', 'i1_1'], ['start_shape'], { axis: 0 }),
    node('Expand', ['decoder_start', 'start_shape'], ['start_column']),
    node('Slice', ['input_ids', 'i0_1', 'minus1_1', 'axes_1'], ['shifted_body']),
    node('Concat', ['start_column', 'shifted_body'], ['decoder_input_ids'], { axis: 1 }),
    // Causal bias [S, S]: a position never attends to a later one.
    node('Range', ['i0', 'seq_len', 'i1'], ['positions']),
    node('Unsqueeze', ['positions', 'axes_1'], ['rows']),
    node('Unsqueeze', ['positions', 'axes_0'], ['cols']),
    node('Greater', ['cols', 'rows'], ['future_b']),
    node('Cast', ['future_b'], ['future'], { to: DataType.FLOAT }),
    node('Mul', ['future', 'mask_penalty'], ['causal_bias']),
  )
  x = embed('decoder', 'decoder_input_ids')
  for (let l = 0; l < shape.decoderLayers; l++) {
    const p = `decoder.${l}`
    x = residualNorm(`${p}.self_attn_layer_norm`, attention(`${p}.self_attn`, x, x, 'causal_bias'), x)
    x = residualNorm(`${p}.encoder_attn_layer_norm`, attention(`${p}.encoder_attn`, x, encoded, 'padding_bias'), x)
    x = residualNorm(`${p}.final_layer_norm`, feedForward(`${p}.ffn`, x), x)
  }

  // The head on the last </s> of each row, picked as the exported graph picks it.
  nodes.push(
    node('Equal', ['input_ids', 'eos_id'], ['is_eos']),
    node('NonZero', ['is_eos'], ['eos_positions_t']),
    node('Transpose', ['eos_positions_t'], ['eos_positions'], { perm: [1, 0] }),
    node('GatherND', [x, 'eos_positions'], ['eos_hidden']), // [N, H]
    node('Concat', ['batch', 'minus1_h'], ['per_row_shape'], { axis: 0 }),
    node('Reshape', ['eos_hidden', 'per_row_shape'], ['eos_per_row']), // [B, K, H]
    node('Gather', ['eos_per_row', 'last'], ['sentence'], { axis: 1 }), // [B, H]
  )
  classificationHead(nodes, dense, 'sentence', h, { dense: 'classification_head.dense', out: 'classification_head.out_proj' })
  return nliGraph('bart_nli_random', ['batch_size', 'encoder_sequence_length'], initializers, nodes)
}

export { BART_SPECIAL }
