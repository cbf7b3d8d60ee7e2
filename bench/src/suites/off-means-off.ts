import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connections, rounds, seconds } from '../config.js'
import { alternateRuns, load, medians, type Runs } from '../load.js'
import { formatRatios, judgeThroughput, recordControl, throughputRatios } from '../noise.js'
import type { Row } from '../report.js'
import { onFreshServers, startServer } from '../servers.js'

const AUTH_MODULES = /@mlblocks[/+]auth|@node-rs[/+]argon2|drizzle-orm|[/+]postgres@|@electric-sql[/+]pglite|@fastify[/+]jwt/

/**
 * 1. Off means off: core where @mlblocks/auth is not installed, against core where it is installed
 * but disabled, on a trivial block. Besides throughput, which a shared machine can only bound, two
 * exact checks: no auth module is loaded, and the request path (routes, their hooks, the plugin
 * tree) is the same as without auth, so the same code serves the same request. A second server
 * without auth, measured the same way, is the control: how far apart two identical servers come out
 * (the method's own noise), which decides whether this run can judge the throughput targets of
 * suites 1 and 2 at all (`judgeThroughput`).
 */
export async function offMeansOff(): Promise<Row[]> {
  const bare = mkdtempSync(join(tmpdir(), 'mlb-bench-bare-'))
  const withAuth = new URL('../../../apps/playground/', import.meta.url).pathname
  const predict = (url: string) => () =>
    load({ url: `${url}/blocks/echo/predict`, method: 'POST', body: { text: 'hello' }, connections, seconds })
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
          { without: predict(without.url), disabled: predict(disabled.url), control: predict(control.url) },
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
  recordControl(control.ratio)
  const throughput = judgeThroughput(sets, 'disabled', 'without', 0.99, r.disabled.bad + r.without.bad === 0)
  return [
    {
      benchmark: '1. off means off',
      measure: 'throughput, auth installed but disabled ÷ not installed (trivial predict)',
      value: `${formatRatios(throughput)}; ${Math.round(r.disabled.rps)} vs ${Math.round(r.without.rps)} req/s`,
      target: '≥ 0.99',
      met: throughput.met,
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
