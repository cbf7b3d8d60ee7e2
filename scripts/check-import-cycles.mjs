#!/usr/bin/env node
// Fails when the relative imports inside a package's src/ form a circle (type-only imports count:
// they are a circle for a reader too). `pnpm lint` runs it; `node scripts/check-import-cycles.mjs`
// runs it alone. Each circle is printed as a path of files.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return /\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : []
  })
}

function edges(file) {
  const text = readFileSync(file, 'utf8')
  const out = []
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2]
    out.push(resolve(dirname(file), spec).replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts'))
  }
  return out
}

/** Every elementary circle found by a depth-first walk, one per back edge. */
export function findCycles(files) {
  const graph = new Map(files.map((f) => [f, edges(f).filter((t) => files.includes(t))]))
  const state = new Map()
  const stack = []
  const cycles = []
  const visit = (f) => {
    state.set(f, 'open')
    stack.push(f)
    for (const t of graph.get(f)) {
      if (state.get(t) === 'open') cycles.push([...stack.slice(stack.indexOf(t)), t])
      else if (!state.has(t)) visit(t)
    }
    stack.pop()
    state.set(f, 'done')
  }
  for (const f of files) if (!state.has(f)) visit(f)
  return cycles
}

const dirs = ['packages', 'apps'].flatMap((group) =>
  readdirSync(join(root, group)).map((p) => join(root, group, p, 'src')).filter((d) => statSync(d, { throwIfNoEntry: false })?.isDirectory()),
)
let failed = false
for (const dir of dirs) {
  for (const cycle of findCycles(sources(dir))) {
    failed = true
    console.error(`import circle in ${relative(root, dir)}: ${cycle.map((f) => relative(dir, f)).join(' -> ')}`)
  }
}
if (failed) {
  console.error('Give the shared part (a type, a constant) a file of its own that both sides import.')
  process.exit(1)
}
console.log(`no import circle in ${dirs.map((d) => relative(root, d)).join(', ')}`)
