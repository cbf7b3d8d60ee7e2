import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { expect, onTestFinished } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createServer, defineBlock, Type, type CreateServerOptions, type MlblocksConfig } from '../src/index.js'

export const echoBlock = defineBlock({
  name: 'echo',
  description: 'Returns its text.',
  input: Type.Object({ text: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
  output: Type.Object({ text: Type.String() }),
  predict: async ({ text }) => ({ text }),
})

/** A promise with its resolve and reject, to hold a block's load() until the test lets it go. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void
  let reject!: (reason: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** A block whose load() waits for the test; `progress` is reported while it waits. */
export function gatedBlock(name: string, gate: Promise<void>, progress?: number) {
  return defineBlock({
    name,
    description: `Waits for the test before it is ready.`,
    input: Type.Object({ n: Type.Integer() }, { additionalProperties: false }),
    output: Type.Object({ doubled: Type.Integer() }),
    load: async ({ progress: report }) => {
      if (progress !== undefined) report(progress)
      await gate
      return 2
    },
    predict: async ({ n }, factor) => ({ doubled: n * factor }),
  })
}

/** Collects every log line written during a test, for assertions on what is (not) logged. */
export function logCollector() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      done()
    },
  })
  return { stream, lines, text: () => lines.join('\n') }
}

/** A server built the way the CLI builds it, with an empty environment unless the test gives one. */
export function buildTestServer(config: MlblocksConfig = { blocks: [echoBlock] }, options: CreateServerOptions = {}): Promise<FastifyInstance> {
  return createServer(config, { env: {}, server: { logLevel: 'silent' }, ...options })
}

export const errorShape = (statusCode: number, code: string, message: unknown = expect.any(String)) => ({
  statusCode,
  code,
  error_message: message,
})

/** A fresh temporary folder, removed when the current test finishes. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `mlb-${prefix}-`))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
