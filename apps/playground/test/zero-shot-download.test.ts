import { createReadStream, existsSync, statSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import { once } from 'node:events'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { zeroShotClassification, zeroShotSettings } from '../src/blocks/zero-shot/index.js'
import { buildServer, forbidNetwork, SEED, TINY_MODELS, tinyModel } from './helpers.js'
import { Writable } from 'node:stream'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'

/**
 * A stand-in for the model hub on loopback: serves `/<org>/<name>/resolve/main/<file>` from the
 * tiny model folder, so the real download path (progress, cache) runs with no internet.
 */
async function fakeHub(modelDir: string): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = []
  const server: Server = createHttpServer((req, res) => {
    requests.push(req.url ?? '')
    const match = /^\/tiny\/nli\/resolve\/main\/(.+)$/.exec(req.url ?? '')
    const file = match ? join(modelDir, decodeURIComponent(match[1]!)) : ''
    if (!match || !existsSync(file) || file.includes('..')) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(200, { 'content-length': statSync(file).size, 'content-type': 'application/octet-stream' })
    createReadStream(file).pipe(res)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/`, requests, close: () => new Promise((r) => server.close(() => r())) }
}

describe.each(TINY_MODELS)('zero-shot-classification downloading its (tiny %s-typed) model', (kind) => {
  let model: Awaited<ReturnType<typeof tinyModel>>
  let hub: Awaited<ReturnType<typeof fakeHub>>
  let cache: string
  let allowNetwork: () => void

  beforeAll(async () => {
    allowNetwork = forbidNetwork()
    model = await tinyModel(kind)
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

  it('fails with a message naming MLBLOCKS_ZSC_MODEL when offline and the model is not cached', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'mlb-models-'))
    const server = await buildServer({
      blocks: [zeroShotClassification(zeroShotSettings({ MLBLOCKS_ZSC_MODEL: 'tiny/other', MLBLOCKS_MODELS_DIR: empty, MLBLOCKS_OFFLINE: '1' }))],
    })
    await server.mlblocks.blocks.settled()
    const block = (await server.inject('/blocks/zero-shot-classification')).json()
    expect(block.status).toBe('failed')
    expect(block.reason).toMatch(/^could not load the model 'tiny\/other' \(q8\): .+ Downloads are off \(local folder or MLBLOCKS_OFFLINE=1\)\. Check MLBLOCKS_ZSC_MODEL\.$/)
    await server.close()
    rmSync(empty, { recursive: true, force: true })
  })
})
