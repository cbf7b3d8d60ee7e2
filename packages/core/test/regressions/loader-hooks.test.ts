import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { expect, it } from 'vitest'

// Under module customization hooks (tsx, `--import jiti/register`, ...), Node 20 cannot require()
// an ES module from CommonJS. @fastify/swagger-ui 6 pulls in an ESM-only dependency that way, so
// core pins a line of it that does not: core must start under a loader hook.
it('starts under a module loader hook on this Node version', { timeout: 60_000 }, async () => {
  const cli = new URL('../../dist/cli.js', import.meta.url).pathname
  const app = new URL('../fixtures/app/', import.meta.url).pathname
  const child = spawn(process.execPath, ['--import', 'jiti/register', cli, 'start', '--port', '0'], {
    cwd: app,
    env: { PATH: process.env.PATH ?? '' },
  })
  let output = ''
  const listening = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      output += d
      if (output.includes('Server listening at')) resolve()
    })
    child.stderr.on('data', (d: Buffer) => (output += d))
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)))
  })
  await listening
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  expect((await exited)[0]).toBe(0)
})
