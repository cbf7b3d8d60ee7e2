import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { zeroShotSettings } from '../src/blocks/zero-shot/settings.js'

describe('zero-shot settings', () => {
  it('defaults to the quantized bart-large-mnli from the hub, cached under .mlblocks/models', () => {
    expect(zeroShotSettings({}, '/srv/app')).toEqual({
      model: 'Xenova/bart-large-mnli',
      localFolder: false,
      modelsDir: '/srv/app/.mlblocks/models',
      hubUrl: 'https://huggingface.co/',
      offline: false,
      dtype: 'q8',
      maxClasses: 32,
      maxTextLength: 5000,
      combine: true,
      maxBatchPairs: 64,
    })
  })

  it('treats a path as a local folder (resolved from the working folder), which turns downloads off', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlb-settings-'))
    expect(zeroShotSettings({ MLBLOCKS_ZSC_MODEL: './models/nli' }, dir)).toMatchObject({ model: join(dir, 'models/nli'), localFolder: true })
    expect(zeroShotSettings({ MLBLOCKS_ZSC_MODEL: '/opt/nli' }, dir)).toMatchObject({ model: '/opt/nli', localFolder: true })
    expect(zeroShotSettings({ MLBLOCKS_ZSC_MODEL: 'org/model' }, dir)).toMatchObject({ model: 'org/model', localFolder: false })
    rmSync(dir, { recursive: true })
  })

  it('reads the other settings', () => {
    const s = zeroShotSettings(
      { MLBLOCKS_OFFLINE: '1', MLBLOCKS_ZSC_DTYPE: 'fp32', MLBLOCKS_ZSC_MAX_CLASSES: '5', MLBLOCKS_MODELS_DIR: '/cache', HF_ENDPOINT: 'http://mirror.local/hf' },
      '/srv',
    )
    expect(s).toMatchObject({ offline: true, dtype: 'fp32', maxClasses: 5, modelsDir: '/cache', hubUrl: 'http://mirror.local/hf/' })
  })

  it.each([
    [{ MLBLOCKS_ZSC_DTYPE: 'fp64' }, "MLBLOCKS_ZSC_DTYPE must be one of fp32, fp16, q8, int8, uint8, q4, bnb4, q4f16; got 'fp64'."],
    [{ MLBLOCKS_ZSC_MAX_CLASSES: '0' }, "MLBLOCKS_ZSC_MAX_CLASSES must be a whole number from 1 to 1000; got '0'."],
    [{ MLBLOCKS_OFFLINE: 'maybe' }, "MLBLOCKS_OFFLINE must be 1, 0, true or false; got 'maybe'."],
    [{ HF_ENDPOINT: 'ftp://x' }, "HF_ENDPOINT must be an http(s) URL; got 'ftp://x'."],
  ])('refuses %o with one line', (env, message) => {
    expect(() => zeroShotSettings(env, '/srv')).toThrow(message)
  })
})
