// `pnpm bench`: every benchmark in one run, each comparison measured side by side; prints a table
// and writes it to bench/results/latest.md.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { smoke } from './config.js'
import { toMarkdown, type Row } from './report.js'
import { benchModel } from './models.js'
import { concurrency } from './suites/concurrency.js'
import { loginFlood } from './suites/login-flood.js'
import { offMeansOff } from './suites/off-means-off.js'
import { onCostsLittle } from './suites/on-costs-little.js'
import { zeroShotSpeed } from './suites/zero-shot-speed.js'

const model = await benchModel()
const suites: Array<[string, () => Promise<Row[]>]> = [
  ['off means off', offMeansOff],
  ['on costs little', onCostsLittle],
  ['logins do not starve predictions', loginFlood],
  ['zero-shot speed', () => zeroShotSpeed(model.dir)],
  ['under concurrency', () => concurrency(model.dir)],
]

const started = Date.now()
const rows: Row[] = []
for (const [name, suite] of suites) {
  process.stderr.write(`bench: ${name}…\n`)
  rows.push(...(await suite()))
}
model.remove()
const seconds = Math.round((Date.now() - started) / 1000)
const header = [
  `# MLBlocks benchmarks${smoke ? ' (smoke run: too short to mean much)' : ''}`,
  '',
  `${new Date().toISOString()} · Node ${process.version} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · ${seconds} s`,
  '',
  'Ratios are medians of variants run alternately against servers on loopback (autocannon).',
  '',
  '',
].join('\n')
const markdown = `${header}${toMarkdown(rows)}\n`
console.log(markdown)
const dir = new URL('../results/', import.meta.url)
mkdirSync(dir, { recursive: true })
writeFileSync(new URL(smoke ? 'smoke.md' : 'latest.md', dir), markdown)
