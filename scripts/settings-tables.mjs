#!/usr/bin/env node
// Writes each package's README settings table from its settings declaration (core's
// `Setting.*` entries): `node scripts/settings-tables.mjs`. With `--check` it only says which
// README is out of date (each package's settings-table test does the same check).
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
// jiti (a dependency of core) loads the TypeScript sources, core's included, so that no build is needed.
const { createJiti } = createRequire(join(root, 'packages/core/package.json'))('jiti')
const jiti = createJiti(import.meta.url, { alias: { '@mlblocks/core': join(root, 'packages/core/src/index.ts') } })

/** README, the table's name in its markers, the module and the export that declares the settings. */
export const TABLES = [
  ['packages/core/README.md', '@mlblocks/core', 'packages/core/src/settings.ts', 'serverSettingsDeclaration'],
  ['packages/auth/README.md', '@mlblocks/auth', 'packages/auth/src/settings.ts', 'authSettingsDeclaration'],
  ['apps/playground/README.md', 'zero-shot-classification', 'apps/playground/src/blocks/zero-shot/settings.ts', 'zeroShotSettingsDeclaration'],
]

const { withSettingsTable } = await jiti.import('@mlblocks/core')
const check = process.argv.includes('--check')
let stale = 0
for (const [readme, name, module, exported] of TABLES) {
  const declaration = (await jiti.import(join(root, module)))[exported]
  const path = join(root, readme)
  const before = readFileSync(path, 'utf8')
  const after = withSettingsTable(before, name, declaration)
  if (before === after) continue
  stale++
  if (check) console.error(`${readme}: its settings table is out of date`)
  else writeFileSync(path, after), console.log(`${readme}: settings table written`)
}
if (check && stale > 0) {
  console.error('Run node scripts/settings-tables.mjs to write them.')
  process.exit(1)
}
