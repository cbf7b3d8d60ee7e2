import { readdirSync, readFileSync } from 'node:fs'

/**
 * A server process's CPU time, read from outside it (the bench process), so that asking costs the
 * server nothing: every live thread's `/proc/<pid>/task/<tid>/schedstat` (field 1, time on a CPU in
 * nanoseconds), and the whole process's `/proc/<pid>/stat` utime + stime (clock ticks of 10 ms,
 * exited threads included).
 */
export interface CpuReading {
  /** ns on a CPU so far, by live thread id. */
  threads: Map<string, number>
  /** utime + stime of the process, every thread that ever ran included, in ns (10 ms resolution). */
  statNs: number
}

/** /proc counts utime and stime in clock ticks of 1/USER_HZ s, 100 Hz on Linux. */
const TICK_NS = 10_000_000

/** The process's CPU so far; null where /proc cannot tell (not Linux) or the process is gone. */
export function readCpu(pid: number): CpuReading | null {
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return null
  }
  const threads = new Map<string, number>()
  for (const tid of tids) {
    try {
      threads.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]))
    } catch {
      // the thread has just ended: the stat figure below still counts it
    }
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // proc(5): after the command name (in parentheses, may hold spaces), from field 3 (state) on;
  // utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { threads, statNs: (Number(fields[14 - 3]) + Number(fields[15 - 3])) * TICK_NS }
}

export interface CpuUsed {
  /** ns the process spent on a CPU between the two readings. */
  ns: number
  /**
   * `schedstat`: summed over threads at ns resolution (every thread alive at the first reading
   * still alive at the second; threads born in between count whole). `stat`: a thread ended in
   * between, and its share since the first reading is in no schedstat any more, so the figure is
   * utime + stime instead, at 10 ms resolution.
   */
  source: 'schedstat' | 'stat'
}

export function cpuBetween(before: CpuReading, after: CpuReading): CpuUsed {
  for (const tid of before.threads.keys()) if (!after.threads.has(tid)) return { ns: after.statNs - before.statNs, source: 'stat' }
  let ns = 0
  for (const [tid, used] of after.threads) ns += used - (before.threads.get(tid) ?? 0)
  return { ns, source: 'schedstat' }
}
