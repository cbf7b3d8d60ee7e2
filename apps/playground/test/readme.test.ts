import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// What the READMEs show a person is what they get.

const repo = new URL('../../../', import.meta.url).pathname
const playground = join(repo, 'apps/playground')
const read = (path: string) => readFileSync(join(repo, path), 'utf8')

describe('the READMEs', () => {
  it("auth's sample start-up error is the line mlblocks start prints", async () => {
    const sample = /turns auth off\. `mlblocks start` prints it[^\n]*\n[^\n]*\n\n```\n(.+)\n```/.exec(read('packages/auth/README.md'))?.[1]
    expect(sample).toMatch(/^mlblocks: /)
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AUTH_ENABLED: 'true', MLBLOCKS_ZSC_MODEL: join(playground, 'no-model-here') }
    const child = spawn(process.execPath, [join(repo, 'packages/core/dist/cli.js'), 'start', '--port', '0'], { cwd: playground, env })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const [code] = (await once(child, 'exit')) as [number | null]
    expect(code).toBe(1)
    expect(stderr).toBe(`${sample}\n`)
  })

  it('name the tarballs `pnpm pack` writes, at the packages’ versions', () => {
    const readme = read('README.md')
    for (const name of ['core', 'auth']) {
      const { version } = JSON.parse(read(`packages/${name}/package.json`)) as { version: string }
      expect(readme).toContain(`mlblocks-${name}-${version}.tgz`)
    }
  })
})
