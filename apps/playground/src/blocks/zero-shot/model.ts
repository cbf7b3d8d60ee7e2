import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { LoadContext } from '@mlblocks/core'
import type { PreTrainedModel, PreTrainedTokenizer, Tensor } from '@huggingface/transformers'
import { combineRequests } from './combine.js'
import { nliLabels, type NliLabels } from './scoring.js'
import { DEFAULT_MODEL, type ZeroShotSettings } from './settings.js'

/** The pipeline's default: each class becomes the hypothesis "This example is <class>." */
export const HYPOTHESIS_TEMPLATE = 'This example is {}.'

export interface NliModel {
  /** Logits `[pairs][labels]` for each (premise, hypothesis) pair, all in ONE forward pass. */
  logits(premise: string, hypotheses: readonly string[]): Promise<number[][]>
  labels: NliLabels
}

/**
 * Loads the tokenizer and the ONNX sequence-classification model with transformers.js. Downloads
 * (when allowed) go to `modelsDir`; their progress over every file, weights included, is reported
 * to core (0..1, 1 only once loaded) and logged every 10%.
 */
export async function loadNliModel(settings: ZeroShotSettings, { progress, log }: Pick<LoadContext, 'progress' | 'log'>): Promise<NliModel> {
  if (settings.localFolder && !existsSync(settings.model)) {
    throw new Error(
      `MLBLOCKS_ZSC_MODEL points to the folder ${settings.model}, which does not exist: put the model there (config.json, tokenizer files, onnx/), or set MLBLOCKS_ZSC_MODEL to a hub id such as ${DEFAULT_MODEL}.`,
    )
  }
  if (!settings.localFolder && settings.offline && !existsSync(join(settings.modelsDir, settings.model, 'config.json'))) {
    throw new Error(
      `MLBLOCKS_OFFLINE=1 and '${settings.model}' is not in the model cache ${settings.modelsDir}: start once without MLBLOCKS_OFFLINE to download it from ${settings.hubUrl} (HF_ENDPOINT), set MLBLOCKS_MODELS_DIR to a cache that has it, or set MLBLOCKS_ZSC_MODEL to a local model folder.`,
    )
  }
  const { AutoModelForSequenceClassification, AutoTokenizer, env } = await import('@huggingface/transformers')
  env.cacheDir = settings.modelsDir
  env.remoteHost = settings.hubUrl
  env.allowLocalModels = true
  env.allowRemoteModels = !(settings.offline || settings.localFolder)

  // A folder or the cache is read, not downloaded: say which, so the log does not claim a download.
  const source = settings.localFolder ? { msg: 'loading model', folder: settings.model } : settings.offline ? { msg: 'loading model', cache: settings.modelsDir } : { msg: 'downloading model', from: settings.hubUrl }
  const { msg, ...where } = source
  const onProgress = downloadProgress(progress, (fraction) => log.info({ model: settings.model, ...where, percent: Math.round(fraction * 100) }, msg))
  const options = { progress_callback: onProgress, cache_dir: settings.modelsDir }
  try {
    const [tokenizer, model] = await Promise.all([
      AutoTokenizer.from_pretrained(settings.model, options),
      AutoModelForSequenceClassification.from_pretrained(settings.model, { ...options, dtype: settings.dtype }),
    ])
    progress(1)
    return nliModel(tokenizer, model, { combine: settings.combine, maxPairs: settings.maxBatchPairs })
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).replace(/\.+$/, '')
    if (settings.localFolder) {
      throw new Error(
        `could not load the model from the folder ${settings.model} (${settings.dtype}): ${reason}. Check that it holds config.json, the tokenizer files and the onnx/ weights for MLBLOCKS_ZSC_DTYPE=${settings.dtype}, or set MLBLOCKS_ZSC_MODEL.`,
      )
    }
    if (settings.offline) {
      throw new Error(
        `could not load the model '${settings.model}' (${settings.dtype}) from the cache ${settings.modelsDir} (MLBLOCKS_OFFLINE=1): ${reason}. Start once without MLBLOCKS_OFFLINE to download it, or set MLBLOCKS_ZSC_MODEL to a local model folder.`,
      )
    }
    throw new Error(
      `could not download the model '${settings.model}' (${settings.dtype}) from ${settings.hubUrl}: ${reason}. Check the network or HF_ENDPOINT (a mirror), set MLBLOCKS_ZSC_MODEL to a local model folder, or MLBLOCKS_OFFLINE=1 to use the cache in ${settings.modelsDir}.`,
    )
  }
}

/** How requests share the model: `combine` merges concurrent ones into one call of up to `maxPairs` pairs. */
export interface Batching {
  combine: boolean
  maxPairs: number
}

export function nliModel(tokenizer: PreTrainedTokenizer, model: PreTrainedModel, batching?: Batching): NliModel {
  const labels = nliLabels((model.config as { label2id?: Record<string, number> }).label2id)
  /** One forward pass over the pairs, padded to the longest. */
  const run = async (premises: readonly string[], hypotheses: readonly string[]): Promise<number[][]> => {
    const inputs = tokenizer([...premises], { text_pair: [...hypotheses], padding: true, truncation: true })
    const { logits } = (await model(inputs)) as { logits: Tensor }
    return logits.tolist() as number[][]
  }
  const combined = batching?.combine ? combineRequests(run, batching.maxPairs) : undefined
  return {
    labels,
    logits: (premise, hypotheses) => (combined ? combined({ premise, hypotheses }) : run(hypotheses.map(() => premise), hypotheses)),
  }
}

interface ProgressInfo {
  status: string
  file?: string
  loaded?: number
  total?: number
  files?: Record<string, { loaded?: number; total?: number }>
}

/** A weights file: its size must be known before any fraction is reported, or the small files alone would read as 100%. */
const WEIGHTS = /\.onnx(?:_data(?:_\d+)?)?$/

/**
 * Sums the bytes of every file being fetched into one fraction. transformers.js announces the model's
 * files with their sizes (`progress_total`) once config.json is in, but the tokenizer's files, loaded
 * at the same time, may finish first: until a weights file's size is known the fraction stays 0, and
 * it stays below 1 until `load()` has finished. It never goes down when a file joins late. `report`
 * gets every change; `logStep` each time the fraction passes a 10% step.
 */
export function downloadProgress(report: (fraction: number) => void, logStep: (fraction: number) => void = () => undefined) {
  const files = new Map<string, { loaded: number; total?: number }>()
  const entry = (file: string) => files.get(file) ?? files.set(file, { loaded: 0 }).get(file)!
  let last = 0
  let lastStep = -1
  return (info: ProgressInfo) => {
    if (info.status === 'progress_total') {
      for (const [file, f] of Object.entries(info.files ?? {})) {
        const e = entry(file)
        if (f.total) e.total = f.total
        e.loaded = Math.max(e.loaded, f.loaded ?? 0)
      }
    } else if (info.status === 'progress' && info.file) {
      const e = entry(info.file)
      if (info.total) e.total = info.total
      e.loaded = Math.max(e.loaded, info.loaded ?? 0)
    } else if (info.status === 'initiate' && info.file) {
      entry(info.file)
    } else return
    let loaded = 0
    let total = 0
    let weightsKnown = false
    for (const [file, f] of files) {
      if (f.total === undefined) continue
      loaded += Math.min(f.loaded, f.total)
      total += f.total
      if (WEIGHTS.test(file)) weightsKnown = true
    }
    if (!weightsKnown || total === 0) return
    // 1 is for "loaded": the caller reports it once the model is built.
    const fraction = Math.min(loaded / total, 0.999)
    if (fraction <= last) return
    last = fraction
    report(fraction)
    const step = Math.floor(Math.min(loaded / total, 1) * 10)
    if (step > lastStep) {
      lastStep = step
      logStep(Math.min(loaded / total, 1))
    }
  }
}
