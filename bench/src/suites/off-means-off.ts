import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connections, rounds, seconds } from '../config.js'
import { alternateRuns, load, medians, type Runs } from '../load.js'
import { ratio, type Row } from '../report.js'
import { onFreshServers, startServer } from '../servers.js'

const AUTH_MODULES = /@mlblocks[/+]auth|@node-rs[/+]argon2|drizzle-orm|[/+]postgres@|@electric-sql[/+]pglite|@fastify[/+]jwt/

/**
 * 1. Off means off: core where @mlblocks/auth is not installed, against core where it is installed
 * but disabled, on a trivial block.
 */
export async function offMeansOff(): Promise<Row[]> {
  const bare = mkdtempSync(join(tmpdir(), 'mlb-bench-bare-'))
  const withAuth = new URL('../../../apps/playground/', import.meta.url).pathname
  const predict = (url: string) => () =>
    load({ url: `${url}/blocks/echo/predict`, method: 'POST', body: { text: 'hello' }, connections, seconds })
  const loaded = new Set<string>()
  let sets: Runs<'without' | 'disabled'>[]
  try {
    sets = await onFreshServers(
      () =>
        Promise.all([
          startServer({ root: bare, blocks: 'trivial' }),
          startServer({ root: withAuth, blocks: 'trivial', plugins: [{ module: '@mlblocks/auth', enabled: false }] }),
        ] as const),
      async ([without, disabled], set) => {
        const runs = await alternateRuns({ without: predict(without.url), disabled: predict(disabled.url) }, rounds, { firstRound: set * rounds })
        for (const m of await disabled.modules()) if (AUTH_MODULES.test(m)) loaded.add(m)
        return runs
      },
    )
  } finally {
    rmSync(bare, { recursive: true, force: true })
  }
  const r = medians(...sets)
  const throughput = r.disabled.rps / r.without.rps
  return [
    {
      benchmark: '1. off means off',
      measure: 'throughput, auth installed but disabled ÷ not installed (trivial predict)',
      value: `${ratio(r.disabled.rps, r.without.rps)} (${Math.round(r.disabled.rps)} vs ${Math.round(r.without.rps)} req/s)`,
      target: '≥ 0.99',
      met: throughput >= 0.99 && r.disabled.bad + r.without.bad === 0,
    },
    {
      benchmark: '1. off means off',
      measure: 'auth modules loaded with auth disabled',
      value: loaded.size === 0 ? 'none' : [...loaded].join(', '),
      target: 'none',
      met: loaded.size === 0,
    },
  ]
}
