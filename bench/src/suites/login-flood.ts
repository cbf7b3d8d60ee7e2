import { ADMIN, startAuthServer, withAuthDatabase } from '../auth-server.js'
import { connections, rounds, seconds as shortRun } from '../config.js'
import { alternateRuns, load, medians, paced } from '../load.js'
import { ms, ratio, type Row } from '../report.js'
import { onFreshServers } from '../servers.js'

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
  const sets = await withAuthDatabase((dataDir) =>
    onFreshServers(
      async () => [await startAuthServer(dataDir)] as const,
      ([server], set) => {
        const predict = () =>
          paced({ url: `${server.url}/blocks/echo/predict`, method: 'POST', body: { text: 'hello' }, headers: { 'x-api-key': server.apiKey }, connections, seconds, rate: PREDICT_RATE })
        const variants = {
          quiet: predict,
          flood: async () => {
            const [result, flood] = await Promise.all([
              predict(),
              load({ url: `${server.url}/login`, method: 'POST', body: ADMIN, connections: 8, seconds }),
            ])
            logins += flood.rps * seconds
            floods += 1
            return result
          },
        }
        return alternateRuns(variants, rounds, { firstRound: set * rounds })
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
  ]
}
