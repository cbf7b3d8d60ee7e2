import { readFileSync } from 'node:fs'
import { ADMIN, playgroundRoot, startAuthServer, withAuthDatabase, withPostgres } from '../auth-server.js'
import { smoke } from '../config.js'
import { load } from '../load.js'
import type { Row } from '../report.js'
import { startServer, type RunningServer } from '../servers.js'

const BENCHMARK = '7. memory'
/** Logins before the second reading. */
const LOGINS = smoke ? 20 : 1000
/** Auth on the embedded database may add this much RSS over auth off (issue 26). */
const TARGET_MB = 100

/** Resident memory of a process, MB, from /proc/<pid>/status (VmRSS); NaN off Linux. */
function rssMb(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB$/m)
    return line ? Number(line[1]) / 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}

/**
 * 6. Memory: RSS of a server with auth on, on the embedded database and on Postgres, against auth
 * off, once started (one login, one user and one key made: `startAuthServer`) and after `LOGINS`
 * more logins. One fresh process each, started one after another, read from /proc/<pid>/status.
 */
export async function memory(): Promise<Row[]> {
  return withPostgres((pgUrl) =>
    withAuthDatabase(async (dataDir) => {
      const servers: Array<[string, RunningServer]> = []
      try {
        servers.push(['off', await startServer({ root: playgroundRoot, blocks: 'trivial', plugins: [{ module: '@mlblocks/auth', enabled: false }] })])
        const embedded = await startAuthServer(dataDir, null)
        servers.push(['on, embedded', embedded])
        if (pgUrl) servers.push(['on, Postgres', await startAuthServer(dataDir, pgUrl)])
        const idle = new Map(servers.map(([name, s]) => [name, rssMb(s.pid)]))
        // Logins that failed (a timeout on a loaded machine, where argon2's idle-priority threads
        // starve) are counted and shown: the figure is still the RSS after that many attempts.
        const failed = new Map<string, number>()
        for (const [name, server] of servers) {
          if (name === 'off') continue
          const result = await load({ url: `${server.url}/login`, method: 'POST', body: ADMIN, connections: 4, seconds: 0, requests: LOGINS })
          failed.set(name, result.bad)
        }
        const after = new Map(servers.map(([name, s]) => [name, rssMb(s.pid)]))
        const off = { idle: idle.get('off')! }
        const rows: Row[] = servers.map(([name]) => {
          const added = name === 'off' ? undefined : { idle: idle.get(name)! - off.idle, after: after.get(name)! - off.idle }
          return {
            benchmark: BENCHMARK,
            measure: `RSS, auth ${name}: once started / after ${LOGINS} logins${added ? ' (added over auth off)' : ''}`,
            value: `${idle.get(name)!.toFixed(0)} MB / ${after.get(name)!.toFixed(0)} MB${added ? ` (+${added.idle.toFixed(0)} / +${added.after.toFixed(0)} MB)` : ''}${failed.get(name) ? `; ${failed.get(name)} of the logins failed` : ''}`,
            target: name === 'on, embedded' ? `≤ +${TARGET_MB} MB` : '',
            met: name === 'on, embedded' ? Math.max(added!.idle, added!.after) <= TARGET_MB : undefined,
          }
        })
        if (!pgUrl) rows.push({ benchmark: BENCHMARK, measure: 'RSS, auth on Postgres', value: 'not measured: set BENCH_DATABASE_URL, or run a Postgres on 127.0.0.1:5432 (trust auth)', target: '' })
        return rows
      } finally {
        await Promise.all(servers.map(([, s]) => s.stop()))
      }
    }),
  )
}
