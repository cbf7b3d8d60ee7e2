import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { resolve } from 'node:path'
import { processSets } from './config.js'
import { cpuPrefix } from './cpus.js'
import type { FromServer, ServerSpec } from './server.js'
import type { CpuByRole } from './threads.js'

export interface RunningServer {
  url: string
  /** The server process's id: the bench reads its CPU time and memory from /proc (process-cpu.ts). */
  pid: number
  /** Every script the server process has compiled so far (module URLs and paths). */
  modules(): Promise<string[]>
  /** Its routes with the hooks each runs, and its plugin tree (`requestPath` in server.ts). */
  requestPath(): Promise<string>
  /** The CPU time its threads have used so far, by role (`cpuByRole` in threads.ts); null off Linux. */
  cpu(): Promise<CpuByRole | null>
  stop(): Promise<void>
}

// Compiled (`pnpm build`), so that servers run plain JavaScript as in production: under jiti's
// loader hook every CommonJS dependency (fastify among them) would run transpiled, and the more a
// variant loads, the slower it would be.
const serverScript = new URL('../dist/server.js', import.meta.url).pathname
// `BENCH_CPU_PROF=<folder>`: each server writes a V8 CPU profile there when it stops (100 µs
// sampling; open it in Chrome DevTools' Performance panel). Profiling slows the servers: for
// finding where time goes, not for the ratios.
export const profileDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined
const profiling = profileDir ? ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${profileDir}`] : []

/**
 * Starts a server in a child process and waits until it listens on loopback. `cpus`: `http` for a
 * server of trivial blocks (one CPU, away from the load generator), `all` for a model server.
 */
export async function startServer(spec: ServerSpec, { cpus = 'http', env = {} }: { cpus?: 'http' | 'all'; env?: Record<string, string> } = {}): Promise<RunningServer> {
  const [execPath = process.execPath, ...prefix] = cpuPrefix(cpus)
  const child: ChildProcess = fork(serverScript, {
    execPath,
    execArgv: [...prefix, ...(prefix.length ? [process.execPath] : []), ...profiling],
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env, BENCH_SPEC: JSON.stringify(spec) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const next = async <T extends FromServer['type']>(type: T): Promise<Extract<FromServer, { type: T }>> => {
    for (;;) {
      // The listener that loses the race is removed: servers are asked many times in a run.
      const race = new AbortController()
      const [message] = (await Promise.race([
        once(child, 'message', { signal: race.signal }),
        once(child, 'exit', { signal: race.signal }).then(([code]) => {
          throw new Error(`benchmark server exited with code ${String(code)}`)
        }),
      ]).finally(() => race.abort())) as [FromServer]
      if (message.type === 'error') throw new Error(`benchmark server failed to start: ${message.message}`)
      if (message.type === type) return message as Extract<FromServer, { type: T }>
    }
  }
  const { url } = await next('listening')
  return {
    url,
    // taskset execs node in place: the child's pid is the server's.
    pid: child.pid!,
    async modules() {
      child.send({ type: 'modules' })
      return (await next('modules')).modules
    },
    async requestPath() {
      child.send({ type: 'requestPath' })
      return (await next('requestPath')).requestPath
    },
    async cpu() {
      child.send({ type: 'cpu' })
      return (await next('cpu')).cpu
    },
    async stop() {
      const exited = once(child, 'exit')
      child.send({ type: 'stop' })
      await exited
    },
  }
}

/**
 * Measures on `processSets` successive sets of fresh servers: starts a set, runs `measure` on it,
 * stops it (a null in a set is a server not started). Returns each set's result, to pool.
 */
export async function onFreshServers<S extends readonly ({ stop(): Promise<void> } | null)[], T>(
  start: () => Promise<S>,
  measure: (servers: S, set: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = []
  for (let set = 0; set < processSets; set++) {
    const servers = await start()
    try {
      results.push(await measure(servers, set))
    } finally {
      await Promise.all(servers.map((server) => server?.stop()))
    }
  }
  return results
}
