import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type CreateServerOptions, type MlblocksConfig } from '@mlblocks/core'
import type { FastifyInstance } from 'fastify'
import { AutoModelForSequenceClassification, AutoTokenizer, env } from '@huggingface/transformers'
import { afterAll, beforeAll } from 'vitest'
import { nliModel, type NliModel } from '../src/blocks/zero-shot/model.js'
import { generateTinyBartModel } from '../model-gen/tiny-bart.js'
import { generateTinyNliModel } from '../model-gen/tiny-nli.js'

/**
 * The two tiny NLI models every zero-shot test runs on: BERT-typed (WordPiece, `[CLS] A [SEP] B [SEP]`)
 * and BART-typed as facebook/bart-large-mnli (byte-level BPE, `<s> A </s></s> B </s>`, `<pad>` = 1).
 */
export const TINY_MODELS = ['bert', 'bart'] as const
export type TinyKind = (typeof TINY_MODELS)[number]

/** Generates a tiny NLI model into a fresh temporary folder; `remove()` deletes it. */
export async function tinyModel(kind: TinyKind = 'bert'): Promise<{ dir: string; remove: () => void }> {
  const root = mkdtempSync(join(tmpdir(), `mlb-tiny-${kind}-`))
  const dir = join(root, `tiny-${kind}`)
  await (kind === 'bart' ? generateTinyBartModel : generateTinyNliModel)(dir)
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) }
}

/** Any request beyond this machine (loopback) fails the test: models load from disk or a local server. */
export function forbidNetwork(): () => void {
  const original = globalThis.fetch
  globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    if (url.hostname !== '127.0.0.1') throw new Error(`network access in a test: ${url.href}`)
    return original(input, init)
  }
  return () => {
    globalThis.fetch = original
  }
}

export function buildServer(config: MlblocksConfig, options: CreateServerOptions = {}): Promise<FastifyInstance> {
  return createServer(config, { env: {}, server: { logLevel: 'silent' }, ...options })
}

export const SEED = {
  text: 'I have a problem with my iphone that needs to be resolved asap!!',
  classes: ['urgent', 'not urgent', 'phone', 'tablet', 'computer'],
}

/**
 * For a suite about a generated random-weight benchmark model: before its tests, writes the model
 * into a temporary folder with `generate` and loads it in fp32 and q8 (the network forbidden);
 * after them, removes the folder. The returned object is filled in by then.
 */
export function generatedModels(prefix: string, generate: (dir: string) => Promise<void>): { dir: string; models: Record<'fp32' | 'q8', NliModel> } {
  const loaded = { dir: '', models: {} as Record<'fp32' | 'q8', NliModel> }
  let root = ''
  let restoreFetch: (() => void) | undefined
  beforeAll(async () => {
    restoreFetch = forbidNetwork()
    env.allowRemoteModels = false
    root = mkdtempSync(join(tmpdir(), `mlb-${prefix}-`))
    loaded.dir = join(root, prefix)
    await generate(loaded.dir)
    const tokenizer = await AutoTokenizer.from_pretrained(loaded.dir)
    for (const dtype of ['fp32', 'q8'] as const) {
      loaded.models[dtype] = nliModel(tokenizer, await AutoModelForSequenceClassification.from_pretrained(loaded.dir, { dtype }))
    }
  })
  afterAll(() => {
    restoreFetch?.()
    if (root) rmSync(root, { recursive: true, force: true })
  })
  return loaded
}
