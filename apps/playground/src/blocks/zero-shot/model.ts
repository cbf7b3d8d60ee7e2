import { existsSync } from 'node:fs'
import type { LoadContext } from '@mlblocks/core'
import type { PreTrainedModel, PreTrainedTokenizer, Tensor } from '@huggingface/transformers'
import { combineRequests, type PairJob } from './combine.js'
import { plainTextTokenizer } from './plain-text.js'
import { nliLabels, type NliLabels } from './scoring.js'
import type { ZeroShotSettings } from './settings.js'

/** The pipeline's default: each class becomes the hypothesis "This example is <class>." */
export const HYPOTHESIS_TEMPLATE = 'This example is {}.'

export interface NliModel {
  /** Logits `[pairs][labels]` for each (premise, hypothesis) pair, all in ONE forward pass. */
  logits(premise: string, hypotheses: readonly string[]): Promise<number[][]>
  labels: NliLabels
}

/**
 * Loads the tokenizer and the ONNX sequence-classification model with transformers.js. Downloads
 * (when allowed) go to `modelsDir`; their progress is reported to core (0..1) and logged every 10%.
 */
export async function loadNliModel(settings: ZeroShotSettings, { progress, log }: Pick<LoadContext, 'progress' | 'log'>): Promise<NliModel> {
  if (settings.localFolder && !existsSync(settings.model)) {
    throw new Error(`MLBLOCKS_ZSC_MODEL points to ${settings.model}, which does not exist. Set it to a model folder or a hub id.`)
  }
  const { AutoModelForSequenceClassification, AutoTokenizer, env } = await import('@huggingface/transformers')
  env.cacheDir = settings.modelsDir
  env.remoteHost = settings.hubUrl
  env.allowLocalModels = true
  env.allowRemoteModels = !(settings.offline || settings.localFolder)

  const onProgress = downloadProgress((fraction) => {
    progress(fraction)
    log.info({ model: settings.model, percent: Math.round(fraction * 100) }, 'downloading model')
  })
  const options = { progress_callback: onProgress, cache_dir: settings.modelsDir }
  try {
    const [tokenizer, model] = await Promise.all([
      AutoTokenizer.from_pretrained(settings.model, options),
      AutoModelForSequenceClassification.from_pretrained(settings.model, { ...options, dtype: settings.dtype }),
    ])
    return nliModel(tokenizer, model, { combine: settings.combine, maxPairs: settings.maxBatchPairs })
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    const where = settings.localFolder ? `the folder ${settings.model}` : `'${settings.model}'`
    const offline = env.allowRemoteModels ? '' : ' Downloads are off (local folder or MLBLOCKS_OFFLINE=1).'
    throw new Error(`could not load the model ${where} (${settings.dtype}): ${reason}.${offline} Check MLBLOCKS_ZSC_MODEL.`)
  }
}

/** How requests share the model: `combine` merges concurrent ones into one call of up to `maxPairs` pairs. */
export interface Batching {
  combine: boolean
  maxPairs: number
}

export function nliModel(tokenizer: PreTrainedTokenizer, model: PreTrainedModel, batching?: Batching): NliModel {
  const labels = nliLabels((model.config as { label2id?: Record<string, number> }).label2id)
  const textTokenizer = plainTextTokenizer(tokenizer)
  /** One forward pass over the pairs, padded to the longest. */
  const run = async (premises: readonly string[], hypotheses: readonly string[]): Promise<number[][]> => {
    const inputs = textTokenizer([...premises], { text_pair: [...hypotheses], padding: true, truncation: true })
    const { logits } = (await model(inputs)) as { logits: Tensor }
    return logits.tolist() as number[][]
  }
  /** Tokens in a job's longest pair (taken as the one with the longest hypothesis): what its pass is padded to. */
  const measure = ({ premise, hypotheses }: PairJob): number => {
    const longest = hypotheses.reduce((a, b) => (b.length > a.length ? b : a), '')
    const { input_ids } = textTokenizer(premise, { text_pair: longest, truncation: true, return_tensor: false }) as unknown as { input_ids: number[] }
    return input_ids.length
  }
  const combined = batching?.combine ? combineRequests(run, { maxPairs: batching.maxPairs }, measure) : undefined
  return {
    labels,
    logits: (text, hypotheses) => {
      const premise = fitPremise(textTokenizer, text, hypotheses)
      return combined ? combined({ premise, hypotheses }) : run(hypotheses.map(() => premise), hypotheses)
    },
  }
}

/**
 * The text, cut at its end so that it fits the model beside the longest hypothesis (Hugging Face's
 * `only_first` truncation). The tokenizer's own truncation cuts the pair's end instead, so the
 * hypothesis and the closing `</s>` go: every class then scores alike, and BART, whose head reads
 * the last `</s>`, fails the whole model call (every request combined with that text included).
 */
function fitPremise(tokenizer: PreTrainedTokenizer, premise: string, hypotheses: readonly string[]): string {
  const max = (tokenizer as unknown as { model_max_length?: number }).model_max_length
  if (!max || !Number.isFinite(max)) return premise
  const tokens = (text: string, pair?: string) =>
    (tokenizer(text, { ...(pair === undefined ? { add_special_tokens: false } : { text_pair: pair }), return_tensor: false }) as unknown as { input_ids: number[] }).input_ids
  const longest = hypotheses.reduce((a, b) => (tokens(b).length > tokens(a).length ? b : a), hypotheses[0] ?? '')
  let fitted = premise
  // Decoding a prefix and tokenizing it again can come out a token or two longer: cut again until it fits.
  for (let attempt = 0; attempt < 8; attempt++) {
    const excess = tokens(fitted, longest).length - max
    if (excess <= 0) return fitted
    const ids = tokens(fitted)
    fitted = tokenizer.decode(ids.slice(0, Math.max(0, ids.length - excess - attempt)), { skip_special_tokens: true })
  }
  return fitted
}

/** Sums the bytes of every file being downloaded into one fraction, reported each time it passes a 10% step. */
function downloadProgress(report: (fraction: number) => void) {
  const files = new Map<string, { loaded: number; total: number }>()
  let lastStep = -1
  return (info: { status: string; file?: string; loaded?: number; total?: number }) => {
    if (info.status !== 'progress' || !info.file || !info.total) return
    files.set(info.file, { loaded: info.loaded ?? 0, total: info.total })
    let loaded = 0
    let total = 0
    for (const f of files.values()) {
      loaded += f.loaded
      total += f.total
    }
    const step = Math.floor((loaded / total) * 10)
    if (step > lastStep) {
      lastStep = step
      report(Math.min(1, loaded / total))
    }
  }
}
