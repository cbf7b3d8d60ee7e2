import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'

/**
 * The machines are noisy and small: the load generator and a server on the same cores measure each
 * other. With taskset and at least two CPUs, the runner (and so autocannon) keeps CPU 0 and the HTTP
 * servers get the last CPU; model servers get every CPU, as in production.
 */
const count = availableParallelism()
const hasTaskset = count >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0

export const pinning = hasTaskset
  ? `load generator pinned to CPU 0, HTTP servers to CPU ${count - 1}, model servers on all ${count}`
  : 'not pinned (needs taskset and two CPUs)'

/** Pins this process (every thread) to CPU 0 while it drives HTTP servers, or gives it every CPU back. */
export function pinRunner(pinned: boolean): void {
  if (hasTaskset) spawnSync('taskset', ['-a', '-pc', pinned ? '0' : `0-${count - 1}`, String(process.pid)], { stdio: 'ignore' })
}

/** The command prefix that starts a server on its CPUs, or none. */
export function cpuPrefix(cpus: 'http' | 'all'): string[] {
  if (!hasTaskset) return []
  return ['taskset', '-c', cpus === 'http' ? String(count - 1) : `0-${count - 1}`]
}
