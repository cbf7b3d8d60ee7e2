import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import { once } from 'node:events'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { zeroShotClassification, zeroShotSettings } from '../src/blocks/zero-shot/index.js'
import { buildServer, forbidNetwork, SEED, tinyModel } from './helpers.js'
import { Writable } from 'node:stream'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'

interface HubOptions {
  /** Files (matched on the path) sent slowly: `chunks` pieces, `delayMs` apart. */
  slow?: { file: RegExp; chunks: number; delayMs: number }
  /** Listen on this port (a hub that comes up late takes the port the server was told about). */
  port?: number
}

/**
 * A stand-in for the model hub on loopback: serves `/<org>/<name>/resolve/main/<file>` from the
 * tiny model folder, so the real download path (progress, cache) runs with no internet.
 */
async function fakeHub(modelDir: string, options: HubOptions = {}): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = []
  const server: Server = createHttpServer((req, res) => {
    requests.push(req.url ?? '')
    const match = /^\/tiny\/nli\/resolve\/main\/(.+)$/.exec(req.url ?? '')
    const file = match ? join(modelDir, decodeURIComponent(match[1]!)) : ''
    if (!match || !existsSync(file) || file.includes('..')) {
      res.writeHead(404).end('not found')
      return
    }
    const size = statSync(file).size
    res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' })
    const slow = options.slow
    if (!slow || !slow.file.test(req.url ?? '') || req.headers.range) {
      createReadStream(file).pipe(res)
      return
    }
    // The weights trickle in, as 400 MB do over a real network.
    const bytes = readFileSync(file)
    const piece = Math.ceil(size / slow.chunks)
    let sent = 0
    const next = () => {
      if (res.destroyed) return
      res.write(bytes.subarray(sent, sent + piece))
      sent += piece
      if (sent >= size) res.end()
      else setTimeout(next, slow.delayMs)
    }
    next()
  })
  server.listen(options.port ?? 0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  }
}

/** A loopback port with nothing listening on it (yet). */
async function freePort(): Promise<number> {
  const probe = createHttpServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as AddressInfo
  await new Promise((r) => probe.close(r))
  return port
}

describe('zero-shot-classification downloading its model', () => {
  let model: Awaited<ReturnType<typeof tinyModel>>
  let hub: Awaited<ReturnType<typeof fakeHub>>
  let cache: string
  let allowNetwork: () => void

  beforeAll(async () => {
    allowNetwork = forbidNetwork()
    model = await tinyModel()
    hub = await fakeHub(model.dir)
    cache = mkdtempSync(join(tmpdir(), 'mlb-models-'))
  })
  afterAll(async () => {
    await hub?.close()
    model?.remove()
    rmSync(cache, { recursive: true, force: true })
    allowNetwork?.()
  })

  it('downloads into MLBLOCKS_MODELS_DIR, reporting progress, then serves; later starts work offline from the cache', async () => {
    const lines: string[] = []
    const logStream = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) })
    const env = { MLBLOCKS_ZSC_MODEL: 'tiny/nli', HF_ENDPOINT: hub.url, MLBLOCKS_MODELS_DIR: cache }
    const online = await buildServer(
      { blocks: [zeroShotClassification(zeroShotSettings(env))] },
      { logStream, server: { logLevel: 'info' } },
    )
    await online.mlblocks.blocks.settled()
    expect((await online.inject('/blocks/zero-shot-classification')).json()).toMatchObject({ status: 'ready' })
    expect(hub.requests.some((r) => r.endsWith('/onnx/model_quantized.onnx'))).toBe(true)
    const progress = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'downloading model').map((l) => l.percent)
    expect(progress.length).toBeGreaterThan(0)
    expect(progress.at(-1)).toBe(100)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))
    const first = (await online.inject({ method: 'POST', url: '/blocks/zero-shot-classification/predict', payload: SEED })).json()
    await online.close()

    await hub.close()
    const offline = await buildServer({ blocks: [zeroShotClassification(zeroShotSettings({ ...env, MLBLOCKS_OFFLINE: '1' }))] })
    await offline.mlblocks.blocks.settled()
    const again = await offline.inject({ method: 'POST', url: '/blocks/zero-shot-classification/predict', payload: SEED })
    expect(again.statusCode).toBe(200)
    expect(again.json()).toEqual(first)
    await offline.close()
  })

  it('says MLBLOCKS_OFFLINE=1 and an empty cache is the problem, naming the cache, the hub and the settings', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'mlb-models-'))
    const server = await buildServer(
      { blocks: [zeroShotClassification(zeroShotSettings({ MLBLOCKS_ZSC_MODEL: 'tiny/other', MLBLOCKS_MODELS_DIR: empty, MLBLOCKS_OFFLINE: '1' }))] },
      { loadRetry: false },
    )
    await server.mlblocks.blocks.settled()
    const block = (await server.inject('/blocks/zero-shot-classification')).json()
    expect(block.status).toBe('failed')
    expect(block.reason).toBe(
      `MLBLOCKS_OFFLINE=1 and 'tiny/other' is not in the model cache ${empty}: start once without MLBLOCKS_OFFLINE to download it from https://huggingface.co/ (HF_ENDPOINT), set MLBLOCKS_MODELS_DIR to a cache that has it, or set MLBLOCKS_ZSC_MODEL to a local model folder.`,
    )
    expect(block.reason).not.toContain('Cannot read properties')
    await server.close()
    rmSync(empty, { recursive: true, force: true })
  })

  it('reports progress over every byte, weights included: below 1 and growing while the weights trickle in, 1 only when loaded', async () => {
    const slowCache = mkdtempSync(join(tmpdir(), 'mlb-models-'))
    const slowHub = await fakeHub(model.dir, { slow: { file: /\.onnx$/, chunks: 40, delayMs: 40 } })
    const env = { MLBLOCKS_ZSC_MODEL: 'tiny/nli', HF_ENDPOINT: slowHub.url, MLBLOCKS_MODELS_DIR: slowCache }
    const server = await buildServer({ blocks: [zeroShotClassification(zeroShotSettings(env))] })
    const seen: number[] = []
    let status = 'loading'
    while (status === 'loading') {
      const block = (await server.inject('/blocks/zero-shot-classification')).json()
      status = block.status
      if (status === 'loading' && typeof block.progress === 'number') seen.push(block.progress)
      await new Promise((r) => setTimeout(r, 15))
    }
    expect(status).toBe('ready')
    expect(seen.every((p) => p < 1)).toBe(true)
    expect(seen).toEqual([...seen].sort((a, b) => a - b))
    // The weights take about 1.6 s to arrive: the status moves through them, not past them.
    expect(new Set(seen.map((p) => Math.floor(p * 10))).size).toBeGreaterThanOrEqual(4)
    expect(Math.min(...seen)).toBeLessThan(0.5)
    await server.close()
    await slowHub.close()
    rmSync(slowCache, { recursive: true, force: true })
  })

  it('names the hub it tried and the settings that fix it, retries, and recovers by itself once the hub is up', async () => {
    const lateCache = mkdtempSync(join(tmpdir(), 'mlb-models-'))
    const port = await freePort()
    const env = { MLBLOCKS_ZSC_MODEL: 'tiny/nli', HF_ENDPOINT: `http://127.0.0.1:${port}/`, MLBLOCKS_MODELS_DIR: lateCache }
    const server = await buildServer({ blocks: [zeroShotClassification(zeroShotSettings(env))] }, { loadRetry: { firstDelayMs: 300, maxDelayMs: 600 } })
    await server.mlblocks.blocks.settled()
    const failed = (await server.inject('/blocks/zero-shot-classification')).json()
    expect(failed.status).toBe('failed')
    expect(failed.reason).toMatch(
      new RegExp(
        `^could not download the model 'tiny/nli' \\(q8\\) from http://127\\.0\\.0\\.1:${port}/: .+\\. Check the network or HF_ENDPOINT \\(a mirror\\), set MLBLOCKS_ZSC_MODEL to a local model folder, or MLBLOCKS_OFFLINE=1 to use the cache in ${lateCache}\\.$`,
      ),
    )
    expect(failed.retry_at).toEqual(expect.any(String))
    const predict = await server.inject({ method: 'POST', url: '/blocks/zero-shot-classification/predict', payload: SEED })
    expect(predict.statusCode).toBe(503)
    expect(Number(predict.headers['retry-after'])).toBe(1)

    const lateHub = await fakeHub(model.dir, { port })
    const end = Date.now() + 30_000
    while ((await server.inject('/blocks/zero-shot-classification')).json().status !== 'ready') {
      if (Date.now() > end) throw new Error('the block did not recover once the hub was up')
      await new Promise((r) => setTimeout(r, 50))
    }
    expect((await server.inject({ method: 'POST', url: '/blocks/zero-shot-classification/predict', payload: SEED })).statusCode).toBe(200)
    await server.close()
    await lateHub.close()
    rmSync(lateCache, { recursive: true, force: true })
  })

  it('does not log a local model folder as a download, and names a missing folder and the fix', async () => {
    const lines: string[] = []
    const logStream = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) })
    const local = await buildServer(
      { blocks: [zeroShotClassification(zeroShotSettings({ MLBLOCKS_ZSC_MODEL: model.dir }))] },
      { logStream, server: { logLevel: 'info' } },
    )
    await local.mlblocks.blocks.settled()
    expect((await local.inject('/blocks/zero-shot-classification')).json().status).toBe('ready')
    const logged = lines.map((l) => JSON.parse(l))
    expect(logged.some((l) => l.msg === 'downloading model')).toBe(false)
    expect(logged.filter((l) => l.msg === 'loading model').at(-1)).toMatchObject({ folder: model.dir, percent: 100 })
    await local.close()

    const missing = join(tmpdir(), 'mlb-no-such-model-folder')
    const none = await buildServer({ blocks: [zeroShotClassification(zeroShotSettings({ MLBLOCKS_ZSC_MODEL: missing }))] }, { loadRetry: false })
    await none.mlblocks.blocks.settled()
    expect((await none.inject('/blocks/zero-shot-classification')).json().reason).toBe(
      `MLBLOCKS_ZSC_MODEL points to the folder ${missing}, which does not exist: put the model there (config.json, tokenizer files, onnx/), or set MLBLOCKS_ZSC_MODEL to a hub id such as Xenova/bart-large-mnli.`,
    )
    await none.close()
  })
})
