import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connections, cpuRequests, rounds } from '../config.js'
import { alternateRuns, cpuLoad, medians, type Runs } from '../load.js'
import { cpuRatios, formatCpu, formatRatios, judgeCpu, recordCpuControl, throughputRatios } from '../noise.js'
import type { Row } from '../report.js'
import { onFreshServers, startServer, type RunningServer } from '../servers.js'

const AUTH_MODULES = /@mlblocks[/+]auth|@node-rs[/+]argon2|drizzle-orm|[/+]postgres@|@electric-sql[/+]pglite|@fastify[/+]jwt/

/**
 * 1. Off means off: core where @mlblocks/auth is not installed, against core where it is installed
 * but disabled, on a trivial block: the server's CPU per request (throughput as context), and two
 * exact checks: no auth module is loaded, and the request path (routes, their hooks, the plugin
 * tree) is the same as without auth, so the same code serves the same request. A second server
 * without auth, measured the same way, is the control: how far apart two identical servers come out
 * (the method's own noise), which decides whether this run can judge the target at all (`judgeCpu`).
 */
export async function offMeansOff(): Promise<Row[]> {
  const bare = mkdtempSync(join(tmpdir(), 'mlb-bench-bare-'))
  const withAuth = new URL('../../../apps/playground/', import.meta.url).pathname
  const predict = (server: RunningServer) => () =>
    cpuLoad(server.pid, { url: `${server.url}/blocks/echo/predict`, method: 'POST', body: { text: 'hello' }, connections, requests: cpuRequests })
  const loaded = new Set<string>()
  const pathDiffers: string[] = []
  let sets: Runs<'without' | 'disabled' | 'control'>[]
  try {
    sets = await onFreshServers(
      () =>
        Promise.all([
          startServer({ root: bare, blocks: 'trivial' }),
          startServer({ root: withAuth, blocks: 'trivial', plugins: [{ module: '@mlblocks/auth', enabled: false }] }),
          startServer({ root: bare, blocks: 'trivial' }),
        ] as const),
      async ([without, disabled, control], set) => {
        const runs = await alternateRuns(
          { without: predict(without), disabled: predict(disabled), control: predict(control) },
          rounds,
          { firstRound: set * rounds },
        )
        for (const m of await disabled.modules()) if (AUTH_MODULES.test(m)) loaded.add(m)
        const [expected, actual] = await Promise.all([without.requestPath(), disabled.requestPath()])
        if (actual !== expected) pathDiffers.push(firstDifference(expected, actual))
        return runs
      },
    )
  } finally {
    rmSync(bare, { recursive: true, force: true })
  }
  const r = medians(...sets)
  const control = throughputRatios(sets, 'control', 'without')
  const throughput = throughputRatios(sets, 'disabled', 'without')
  const cpuControl = cpuRatios(sets, 'control', 'without')
  recordCpuControl(cpuControl.ratio)
  const cpu = judgeCpu(sets, 'disabled', 'without', 0.99, r.disabled.bad + r.without.bad === 0, cpuControl)
  return [
    {
      benchmark: '1. off means off',
      measure: 'CPU per request, not installed ÷ installed but disabled (trivial predict)',
      value: formatCpu(cpu, 'not installed', 'disabled'),
      target: '≥ 0.99',
      met: cpu.met,
    },
    {
      benchmark: '1. off means off',
      measure: 'control: CPU per request, the first server without auth ÷ a second one, measured alike',
      value: formatCpu(cpuControl, 'first', 'second'),
      target: '',
    },
    {
      benchmark: '1. off means off',
      measure: 'throughput (context), auth installed but disabled ÷ not installed (trivial predict)',
      value: `${formatRatios(throughput)}; ${Math.round(r.disabled.rps)} vs ${Math.round(r.without.rps)} req/s`,
      target: '',
    },
    {
      benchmark: '1. off means off',
      measure: 'control: a second server without auth ÷ the first, measured alike (the method\'s own noise)',
      value: `${formatRatios(control)}; ${Math.round(r.control.rps)} vs ${Math.round(r.without.rps)} req/s`,
      target: '',
    },
    {
      benchmark: '1. off means off',
      measure: 'auth modules loaded with auth disabled',
      value: loaded.size === 0 ? 'none' : [...loaded].join(', '),
      target: 'none',
      met: loaded.size === 0,
    },
    {
      benchmark: '1. off means off',
      measure: 'request path with auth disabled: every route\'s hooks and the plugin tree, against not installed',
      value: pathDiffers.length === 0 ? `identical (${sets.length} set${sets.length === 1 ? '' : 's'} of servers)` : `differs: ${pathDiffers[0]}`,
      target: 'identical',
      met: pathDiffers.length === 0,
    },
  ]
}

/** ``line 2: `• (onRequest) ["mlblocksRequestId()"]` became `…` ``: where two request paths part. */
function firstDifference(expected: string, actual: string): string {
  const a = expected.split('\n')
  const b = actual.split('\n')
  const i = a.findIndex((line, n) => line !== b[n])
  const at = i === -1 ? a.length : i
  const shown = (line: string | undefined) => (line === undefined ? '(end)' : `\`${line.replace(/^[│├└─┬ ]+/, '')}\``)
  return `line ${at + 1}: ${shown(a[at])} became ${shown(b[at])}`
}
