import { ADMIN, startAuthServer, withAuthDatabase } from '../auth-server.js'
import { connections, rounds, seconds as shortRun, warmups } from '../config.js'
import { alternateRuns, load, median, medians, paced } from '../load.js'
import { ms, ratio, type Row } from '../report.js'
import { onFreshServers } from '../servers.js'
import type { CpuByRole, ThreadRole } from '../threads.js'

/** Predictions per second while logins flood: a steady load, so that latency measures interference, not a queue of our own making. */
const PREDICT_RATE = 1000
/** Runs half again the usual length: a p99 wants more than a thousand samples. */
const seconds = shortRun * 1.5

/**
 * 3. Logins do not starve predictions: predict latency at a steady rate while a flood of logins
 * (argon2 at full cost) runs, against none, on a server that has one CPU for both.
 */
export async function loginFlood(): Promise<Row[]> {
  let logins = 0
  let floods = 0
  // The server's CPU time in each measured run, for what a login costs each of its threads.
  const quietCpu: CpuByRole[] = []
  const floodCpu: Array<{ used: CpuByRole; logins: number }> = []
  const sets = await withAuthDatabase((dataDir) =>
    onFreshServers(
      async () => [await startAuthServer(dataDir)] as const,
      async ([server], set) => {
        // This set's runs, warm-ups first (alternateRuns runs each variant `warmups` times before the rounds).
        const quiet: CpuByRole[] = []
        const flooded: Array<{ used: CpuByRole; logins: number }> = []
        const predict = () =>
          paced({ url: `${server.url}/blocks/echo/predict`, method: 'POST', body: { text: 'hello' }, headers: { 'x-api-key': server.apiKey }, connections, seconds, rate: PREDICT_RATE })
        const variants = {
          quiet: async () => {
            const before = await server.cpu()
            const result = await predict()
            const used = since(before, await server.cpu())
            if (used) quiet.push(used)
            return result
          },
          flood: async () => {
            const before = await server.cpu()
            const [result, flood] = await Promise.all([
              predict(),
              load({ url: `${server.url}/login`, method: 'POST', body: ADMIN, connections: 8, seconds }),
            ])
            const used = since(before, await server.cpu())
            if (used) flooded.push({ used, logins: flood.rps * seconds })
            logins += flood.rps * seconds
            floods += 1
            return result
          },
        }
        const runs = await alternateRuns(variants, rounds, { firstRound: set * rounds })
        quietCpu.push(...quiet.slice(warmups))
        floodCpu.push(...flooded.slice(warmups))
        return runs
      },
    ),
  )
  const r = medians(...sets)
  const p99 = r.flood.p99 / r.quiet.p99
  return [
    {
      benchmark: '3. logins do not starve predictions',
      measure: 'predict p99 with a login flood ÷ without',
      value: `${ratio(r.flood.p99, r.quiet.p99)} (${ms(r.flood.p99)} vs ${ms(r.quiet.p99)})`,
      target: '≤ 1.2',
      met: r.flood.bad + r.quiet.bad === 0 && p99 <= 1.2,
    },
    {
      benchmark: '3. logins do not starve predictions',
      measure: `predict p50 with a login flood / without, at ${PREDICT_RATE} predictions/s; logins served`,
      value: `${ms(r.flood.p50)} / ${ms(r.quiet.p50)}; ${(logins / floods / seconds).toFixed(0)} logins/s`,
      target: '',
    },
    {
      benchmark: '3. logins do not starve predictions',
      measure: 'server CPU per login, beyond the predictions’: by thread (median over runs)',
      value: describeCpu(perLogin(quietCpu, floodCpu)),
      target: '',
    },
  ]
}

function since(before: CpuByRole | null, after: CpuByRole | null): CpuByRole | null {
  if (!before || !after) return null
  return Object.fromEntries(Object.entries(after).map(([role, used]) => [role, used - before[role as ThreadRole]])) as CpuByRole
}

/** Each thread's CPU in a flood run less its median in a quiet one (the predictions' share), per login. */
function perLogin(quiet: readonly CpuByRole[], flood: ReadonlyArray<{ used: CpuByRole; logins: number }>): CpuByRole | null {
  if (quiet.length === 0 || flood.length === 0) return null
  const roles = Object.keys(quiet[0]!) as ThreadRole[]
  return Object.fromEntries(
    roles.map((role) => {
      const base = median(quiet.map((q) => q[role]))
      return [role, median(flood.map((f) => (f.used[role] - base) / f.logins))]
    }),
  ) as CpuByRole
}

function describeCpu(cpu: CpuByRole | null): string {
  if (!cpu) return 'n/a (reads /proc: Linux only)'
  const database = process.env.BENCH_DATABASE_URL ? 'database: in Postgres, not counted' : `database thread ${ms(cpu.database)}`
  const noisy = Object.values(cpu).some((v) => v < 0) ? ' (below 0: a quiet run used more CPU than a flood, too few logins to tell)' : ''
  return `event loop ${ms(cpu['event loop'])}, ${database}, V8 and libuv threads ${ms(cpu.other)}; argon2 ${ms(cpu.argon2)} (idle priority)${noisy}`
}
