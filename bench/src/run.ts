// `pnpm bench`: every benchmark in one run, each comparison measured side by side; prints a table
// and writes it to bench/results/latest.md.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { smoke } from './config.js'
import { authDatabase } from './auth-server.js'
import { pinRunner, pinning } from './cpus.js'
import { toMarkdown, type Row } from './report.js'
import { bartModel, bartShapeName, benchModel } from './models.js'
import { profileDir } from './servers.js'
import { concurrency } from './suites/concurrency.js'
import { loginFlood } from './suites/login-flood.js'
import { memory } from './suites/memory.js'
import { metricsCost } from './suites/metrics-cost.js'
import { offMeansOff } from './suites/off-means-off.js'
import { onCostsLittle } from './suites/on-costs-little.js'
import { zeroShotSeed } from './suites/zero-shot-seed.js'
import { zeroShotSpeed } from './suites/zero-shot-speed.js'

// The BERT-base-shaped model is generated once, only if a zero-shot suite runs.
let model: Awaited<ReturnType<typeof benchModel>> | undefined
const modelDir = async () => (model ??= await benchModel()).dir
// The BART-large-MNLI-shaped one is generated once into a cache outside the repository (models.ts).
let bart: Awaited<ReturnType<typeof bartModel>> | undefined
const bartDir = async () => (bart ??= await bartModel()).dir
// HTTP suites pin the load generator away from the server; the model suites run on every CPU.
const all: Array<[string, 'http' | 'model', () => Promise<Row[]>]> = [
  ['off means off', 'http', offMeansOff],
  ['on costs little', 'http', onCostsLittle],
  ['logins do not starve predictions', 'http', loginFlood],
  ['zero-shot speed', 'model', async () => zeroShotSpeed(await modelDir())],
  ['under concurrency', 'model', async () => concurrency(await modelDir())],
  ['bart-large zero-shot speed', 'model', async () => zeroShotSeed(await bartDir(), bartShapeName, '6. zero-shot speed, BART-large shape')],
  ['bart-large under concurrency', 'model', async () => concurrency(await bartDir(), ', BART-large shape', { clientCounts: [1, 16], rounds: 2 })],
  ['memory', 'http', memory],
  ['metrics cost little', 'http', metricsCost],
]
// `pnpm bench login zero` runs only the suites whose names contain one of the words. The BART-large
// suites take about as long as all the others together, so they run only when a word names them
// (`pnpm bench -- bart`), or with the smoke run.
const only = process.argv.slice(2).filter((a) => a !== '--')
const optIn = (name: string) => name.startsWith('bart-large') && !smoke
const suites = only.length
  ? all.filter(([name]) => only.some((word) => name.includes(word)) && (!optIn(name) || only.some((word) => word.includes('bart'))))
  : all.filter(([name]) => !optIn(name))
if (suites.length === 0) {
  console.error(`bench: no suite matches ${only.join(', ')}; the suites are: ${all.map(([name]) => name).join('; ')}.`)
  process.exit(2)
}

const started = Date.now()
const rows: Row[] = []
for (const [name, kind, suite] of suites) {
  process.stderr.write(`bench: ${name}…`)
  const suiteStarted = Date.now()
  pinRunner(kind === 'http')
  rows.push(...(await suite()))
  process.stderr.write(` ${Math.round((Date.now() - suiteStarted) / 1000)} s\n`)
}
pinRunner(false)
model?.remove()
bart?.remove()
const seconds = Math.round((Date.now() - started) / 1000)
const header = [
  `# MLBlocks benchmarks${smoke ? ' (smoke run: too short to mean much)' : ''}`,
  '',
  `${new Date().toISOString()} · Node ${process.version} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · ${seconds} s`,
  '',
  'Variants run alternately against servers on loopback (autocannon). Suites 1 and 2 judge by the server process\'s CPU time per request (every thread, /proc/<pid>/task/*/schedstat before and after a fixed number of requests): a ratio is the median of the ratios within each round, and each fresh process\'s median is printed; throughput and p99 are context.',
  '❔: a target this run cannot settle either way: its sets of fresh server processes came out on both sides of it, or the control (two identical servers measured alike) further from 1 than the target\'s margin.',
  `CPUs: ${pinning}. Auth database for suite 3: ${authDatabase}; suites 2 and 6 measure the embedded one and Postgres (BENCH_DATABASE_URL, else a fresh database on the local server).`,
  ...(profileDir ? ['', `Servers wrote CPU profiles to ${profileDir}: profiling slows them unevenly, so this run's figures compare nothing.`] : []),
  '',
  '',
].join('\n')
const markdown = `${header}${toMarkdown(rows)}\n`
console.log(markdown)
const dir = new URL('../results/', import.meta.url)
mkdirSync(dir, { recursive: true })
// A partial or profiled run does not overwrite the full table.
writeFileSync(new URL(smoke ? 'smoke.md' : only.length || profileDir ? 'partial.md' : 'latest.md', dir), markdown)
