import { readFileSync } from 'node:fs'
import { serverSettingsDeclaration, settingNames, withSettingsTable } from '@mlblocks/core'
import { describe, expect, it } from 'vitest'
import { authSettingsDeclaration } from '../../../packages/auth/src/settings.js'
import { zeroShotSettingsDeclaration } from '../src/blocks/zero-shot/settings.js'

const repo = new URL('../../../', import.meta.url)
const turbo = JSON.parse(readFileSync(new URL('turbo.json', repo), 'utf8')) as { tasks: { start: { passThroughEnv: string[] } } }
const passes = (name: string) => turbo.tasks.start.passThroughEnv.some((p) => new RegExp(`^${p.replaceAll('*', '[A-Z0-9_]*')}$`).test(name))

describe("the playground's README", () => {
  it('has the block settings table generated from the declaration (node scripts/settings-tables.mjs writes it)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    expect(withSettingsTable(readme, 'zero-shot-classification', zeroShotSettingsDeclaration)).toBe(readme)
  })
})

describe("turbo's pass-through list for `pnpm start`", () => {
  it('lets through every declared setting of core, auth and the block', () => {
    const names = [serverSettingsDeclaration, authSettingsDeclaration, zeroShotSettingsDeclaration].flatMap(settingNames)
    expect(names.length).toBeGreaterThan(25)
    expect(names.filter((n) => !passes(n))).toEqual([])
  })
})
