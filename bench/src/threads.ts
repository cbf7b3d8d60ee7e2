import { readdirSync, readFileSync } from 'node:fs'

/**
 * A server thread, told apart by how it is scheduled: the event loop is the process's first
 * thread; auth's embedded database worker lowers itself to nice 10 (`WORKER_NICE` in auth's
 * db/embedded.ts); its argon2 workers run under SCHED_IDLE; `other` is V8's helpers (GC,
 * compilers) and libuv's pool.
 */
export type ThreadRole = 'event loop' | 'database' | 'argon2' | 'other'
export type CpuByRole = Record<ThreadRole, number>

const DATABASE_NICE = 10
const SCHED_IDLE = 5
/** /proc counts CPU time in clock ticks of 1/USER_HZ s, 100 Hz on Linux. */
const TICK_MS = 10

/** This process's CPU time so far (user and system, ms) by thread role; null where /proc cannot tell (not Linux). */
export function cpuByRole(): CpuByRole | null {
  let tids: string[]
  try {
    tids = readdirSync('/proc/self/task')
  } catch {
    return null
  }
  const cpu: CpuByRole = { 'event loop': 0, database: 0, argon2: 0, other: 0 }
  for (const tid of tids) {
    let stat: string
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    } catch {
      continue // the thread has just ended
    }
    // proc(5): the fields after the command name (in parentheses, and it may hold spaces), from
    // state: utime and stime are 14 and 15, nice 19, policy 41, counting from 1 at the pid.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const field = (n: number) => Number(fields[n - 3])
    const role: ThreadRole =
      tid === String(process.pid) ? 'event loop' : field(41) === SCHED_IDLE ? 'argon2' : field(19) === DATABASE_NICE ? 'database' : 'other'
    cpu[role] += (field(14) + field(15)) * TICK_MS
  }
  return cpu
}
