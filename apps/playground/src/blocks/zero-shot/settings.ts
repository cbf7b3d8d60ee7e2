import { existsSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { readSettings, Setting, SettingError, Type, type SettingsOf } from '@mlblocks/core'

export const DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'q4f16'] as const
export type Dtype = (typeof DTYPES)[number]

/** Where the zero-shot block gets its model and how it bounds its input. All from the environment. */
export type ZeroShotSettings = ZeroShotSettingsMapped & Omit<SettingsOf<typeof zeroShotSettingsDeclaration>, keyof ZeroShotSettingsMapped>

/** The settings as the block uses them; a setting added to the declaration arrives in ZeroShotSettings under its key. */
export interface ZeroShotSettingsMapped {
  /** `MLBLOCKS_ZSC_MODEL`: a model id on the hub, or a local folder. */
  model: string
  /** True when `model` is a folder on disk: then nothing is ever downloaded. */
  localFolder: boolean
  /** `MLBLOCKS_MODELS_DIR`: download cache. */
  modelsDir: string
  /** `HF_ENDPOINT`: the hub (or a mirror) that model ids are downloaded from. */
  hubUrl: string
  /** `MLBLOCKS_OFFLINE=1`: never reach the hub; the model must be in the cache or a local folder. */
  offline: boolean
  /** `MLBLOCKS_ZSC_DTYPE`: which ONNX weights to run; `q8` (quantized) by default. */
  dtype: Dtype
  /** `MLBLOCKS_ZSC_MAX_CLASSES`: most classes in one request. */
  maxClasses: number
  /** `MLBLOCKS_ZSC_MAX_TEXT`: most characters of text in one request. */
  maxTextLength: number
  /** `MLBLOCKS_ZSC_COMBINE`: run concurrent requests through the model together (default on). */
  combine: boolean
  /** `MLBLOCKS_ZSC_BATCH_PAIRS`: most text/class pairs in one combined model call. */
  maxBatchPairs: number
}

export const DEFAULT_MODEL = 'Xenova/bart-large-mnli'

type Env = Readonly<Record<string, string | undefined>>

/** The block's settings, declared once: read by `zeroShotSettings`, and the README's table is generated from this. */
export const zeroShotSettingsDeclaration = {
  model: Setting.text({
    env: 'MLBLOCKS_ZSC_MODEL',
    default: DEFAULT_MODEL,
    doc: 'A model id on the hub, or a local model folder (absolute, or relative to the working folder).',
  }),
  modelsDir: Setting.text({
    env: 'MLBLOCKS_MODELS_DIR',
    default: '.mlblocks/models',
    doc: 'The download cache (relative to the working folder: `apps/playground` under `pnpm start`).',
  }),
  offline: Setting.flag({ env: 'MLBLOCKS_OFFLINE', default: false, problem: '1, 0, true or false', shownDefault: '0', doc: '`1`: never download; the model must be cached or a local folder.' }),
  dtype: Setting.oneOf(DTYPES, { env: 'MLBLOCKS_ZSC_DTYPE', default: 'q8', doc: `Which ONNX weights to run: ${DTYPES.join(', ')}.` }),
  maxClasses: Setting.integer({ env: 'MLBLOCKS_ZSC_MAX_CLASSES', default: 32, minimum: 1, maximum: 1000, doc: 'The most classes in one request.' }),
  maxTextLength: Setting.integer({ env: 'MLBLOCKS_ZSC_MAX_TEXT', default: 5000, minimum: 1, maximum: 1_000_000, doc: 'The most characters of text in one request.' }),
  combine: Setting.flag({ env: 'MLBLOCKS_ZSC_COMBINE', default: true, problem: '1, 0, true or false', shownDefault: '1', doc: 'Run concurrent requests through the model together.' }),
  maxBatchPairs: Setting.integer({ env: 'MLBLOCKS_ZSC_BATCH_PAIRS', default: 64, minimum: 1, maximum: 4096, doc: 'The most (text, class) pairs in one combined model call.' }),
  hubUrl: Setting.custom<string>(Type.String({ format: 'uri' }), {
    env: 'HF_ENDPOINT',
    default: 'https://huggingface.co/',
    doc: 'The hub, or a mirror, that model ids are downloaded from.',
    parse: (value) => {
      const url = URL.canParse(String(value)) ? new URL(String(value)) : undefined
      if (url?.protocol !== 'https:' && url?.protocol !== 'http:') return { problem: 'an http(s) URL' }
      return { value: url.href.endsWith('/') ? url.href : `${url.href}/` }
    },
  }),
}

/** Reads and checks the settings; a bad value throws one line naming the variable. */
export function zeroShotSettings(env: Env = process.env, cwd: string = process.cwd()): ZeroShotSettings {
  let read: SettingsOf<typeof zeroShotSettingsDeclaration>
  try {
    read = readSettings(zeroShotSettingsDeclaration, env)
  } catch (err) {
    throw err instanceof SettingError ? new Error(`${err.message}.`) : err
  }
  const { model, modelsDir, ...rest } = read
  const looksLikePath = isAbsolute(model) || model.startsWith('.') || existsSync(resolve(cwd, model))
  return { ...rest, model: looksLikePath ? resolve(cwd, model) : model, localFolder: looksLikePath, modelsDir: resolve(cwd, modelsDir) }
}
