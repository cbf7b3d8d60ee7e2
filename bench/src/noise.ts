import type { Row } from './report.js'

/** How far from 1 two identical servers came out in this run (suite 1's control), once measured. */
let controlDeviation: number | undefined

/** Suite 1's control: a second server without auth ÷ the first, measured alike. */
export function recordControl(ratio: number): void {
  controlDeviation = Math.abs(ratio - 1)
}

/**
 * A throughput ratio against a target of at least `target`: met or not, or `noise` when two
 * identical servers came out further apart in this run than the target's margin (0.01 for a target
 * of 0.99): then the run cannot tell either way, and a ✅ would mean no more than a ❌. Without a
 * control (suite 1 filtered out), the ratio is judged as it is. Errors (`clean` false) always fail.
 */
export function throughputVerdict(ratio: number, target: number, clean: boolean): Row['met'] {
  if (!clean) return false
  if (controlDeviation !== undefined && controlDeviation > 1 - target) return 'noise'
  return ratio >= target
}
