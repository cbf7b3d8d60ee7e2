import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { readSettings, Setting, SettingError, serverSettingsDeclaration, settingsTable, withSettingsTable } from '../src/index.js'

describe('declared settings', () => {
  const declaration = {
    size: Setting.integer({ env: 'X_SIZE', option: 'size', default: 3, minimum: 1, maximum: 9, unit: 'widgets', doc: 'How many.' }),
    wait: Setting.duration({ env: 'X_WAIT', default: '15m', minimum: '1s', maximum: '1d', doc: 'How long.' }),
    secret: Setting.text({ env: 'X_SECRET', secret: true, doc: 'Never shown.' }),
    mode: Setting.oneOf(['a', 'b'], { env: 'X_MODE', default: 'a', lowercase: true, doc: 'Which.' }),
    on: Setting.flag({ env: 'X_ON', default: true, doc: 'Whether.' }),
  }

  it('reads overrides over the environment over the config over the defaults', () => {
    expect(readSettings(declaration, {})).toEqual({ size: 3, wait: 900_000, secret: null, mode: 'a', on: true })
    expect(readSettings(declaration, { X_SIZE: ' 5 ', X_WAIT: '90', X_MODE: 'B', X_ON: '0' }, { config: { size: 7 } })).toEqual({ size: 5, wait: 90_000, secret: null, mode: 'b', on: false })
    expect(readSettings(declaration, { X_SIZE: '' }, { config: { size: 7 } }).size).toBe(7)
    expect(readSettings(declaration, { X_SIZE: '5' }, { config: { size: 7 }, overrides: { size: 8 } }).size).toBe(8)
    expect(readSettings(declaration, { X_WAIT: '2h' }).wait).toBe(7_200_000) // @lukeed/ms
  })

  it.each([
    [{ X_SIZE: '10' }, "X_SIZE must be a whole number of widgets (1-9); got '10'"],
    [{ X_WAIT: 'never' }, "X_WAIT must be a duration like 30s, 15m, 1h or 2d, from 1s to 86400s; got 'never'"],
    [{ X_WAIT: '-5s' }, "X_WAIT must be a duration like 30s, 15m, 1h or 2d, from 1s to 86400s; got '-5s'"],
    [{ X_MODE: 'c' }, "X_MODE must be one of a, b; got 'c'"],
    [{ X_ON: 'yes' }, "X_ON must be true, false, 1 or 0; got 'yes'"],
  ])('stops on %o with one line naming the setting, what it must be and what it got', (env, message) => {
    expect(() => readSettings(declaration, env)).toThrow(SettingError)
    expect(() => readSettings(declaration, env)).toThrow(message)
  })

  it("never echoes a secret's value", () => {
    const secretive = { secret: Setting.text({ env: 'X_SECRET', secret: true, check: (v) => (v.length < 32 ? '32 characters or more' : undefined), doc: '' }) }
    expect(() => readSettings(secretive, { X_SECRET: 'hunter2' })).toThrow(/^X_SECRET must be 32 characters or more$/)
  })

  it('makes one table row per setting, with its env name, option, default and bounds', () => {
    const rows = settingsTable(declaration).split('\n')
    expect(rows).toHaveLength(2 + Object.keys(declaration).length)
    expect(rows[2]).toBe('| `X_SIZE` | `size` | `3` | 1 to 9 widgets | How many. |')
    expect(rows[3]).toContain('| `X_WAIT` | — | `15m` | 1s to 1d')
  })
})

describe("core's README", () => {
  it('has the settings table generated from the declaration (node scripts/settings-tables.mjs writes it)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    expect(withSettingsTable(readme, '@mlblocks/core', serverSettingsDeclaration)).toBe(readme)
  })
})
