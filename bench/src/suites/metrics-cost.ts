import { playgroundRoot } from '../auth-server.js'
import { connections, cpuRequests, rounds } from '../config.js'
import { alternateRuns, cpuLoad, medians, type LoadResult, type Runs } from '../load.js'
import { cpuRatios, formatCpu, formatRatios, judgeCpu, throughputRatios } from '../noise.js'
import { ms, type Row } from '../report.js'
import { onFreshServers, startServer, type RunningServer } from '../servers.js'

const BENCHMARK = '8. metrics cost little'
const TARGET = 0.97
const predict = { path: '/blocks/echo/predict', method: 'POST' as const, body: { text: 'hello' } }

/**
 * 8. What counting a request for `/metrics` costs, as the server's own CPU per trivial predict:
 * `MLBLOCKS_METRICS_ENABLED=false` against metrics on (the default), beside a control of two
 * identical servers with metrics off, all without auth. Same method as suite 2.
 */
export async function metricsCost(): Promise<Row[]> {
  const off = { MLBLOCKS_METRICS_ENABLED: 'false' }
  const spec = { root: playgroundRoot, blocks: 'trivial' as const, plugins: [{ module: '@mlblocks/auth', enabled: false }] }
  const sets = await onFreshServers<[RunningServer, RunningServer, RunningServer], Runs<string>>(
    async () => (await Promise.all([startServer(spec, { env: off }), startServer(spec, { env: off }), startServer(spec)])) as [RunningServer, RunningServer, RunningServer],
    async ([metricsOff, control, metricsOn], set) => {
      const run = (server: RunningServer) => () =>
        cpuLoad(server.pid, { url: `${server.url}${predict.path}`, method: predict.method, body: predict.body, headers: {}, connections, requests: cpuRequests })
      const variants: Record<string, () => Promise<LoadResult>> = { off: run(metricsOff), control: run(control), on: run(metricsOn) }
      return alternateRuns(variants, rounds, { firstRound: set * rounds })
    },
  )
  const r = medians(...sets)
  const control = cpuRatios(sets, 'control', 'off')
  const clean = Object.values(r).every((x) => x.bad === 0)
  const cpu = judgeCpu(sets, 'on', 'off', TARGET, clean, control)
  return [
    { benchmark: BENCHMARK, measure: 'trivial predict: control, CPU per request of a server with metrics off ÷ a second one', value: formatCpu(control, 'first', 'second'), target: '' },
    { benchmark: BENCHMARK, measure: 'trivial predict: CPU per request, metrics off ÷ on', value: formatCpu(cpu, 'off', 'on'), target: `≥ ${TARGET}`, met: cpu.met },
    {
      benchmark: BENCHMARK,
      measure: 'trivial predict: throughput ÷ off and p99 (context): control / on',
      value: `${formatRatios(throughputRatios(sets, 'control', 'off'))} / ${formatRatios(throughputRatios(sets, 'on', 'off'))}; p99 off ${ms(r.off!.p99)}, ${ms(r.control!.p99)} / ${ms(r.on!.p99)}`,
      target: '',
    },
  ]
}
