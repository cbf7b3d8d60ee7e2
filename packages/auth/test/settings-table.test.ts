import { readFileSync } from 'node:fs'
import { withSettingsTable } from '@mlblocks/core'
import { describe, expect, it } from 'vitest'
import { authSettingsDeclaration } from '../src/settings.js'

describe("auth's README", () => {
  it('has the settings table generated from the declaration (node scripts/settings-tables.mjs writes it)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    expect(withSettingsTable(readme, '@mlblocks/auth', authSettingsDeclaration)).toBe(readme)
  })
})
