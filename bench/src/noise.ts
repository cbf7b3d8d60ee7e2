import { pairedRatio, type Runs } from './load.js'
import type { Row } from './report.js'

/** How far from 1 two identical servers came out in this run (suite 1's control), once measured. */
let controlDeviation: number | undefined

/** Suite 1's control: a second server without auth ÷ the first, measured alike. */
export function recordControl(ratio: number): void {
  controlDeviation = Math.abs(ratio - 1)
}

export interface Ratios {
  /** `variant` ÷ `base` over every set of servers (`pairedRatio`). */
  ratio: number
  /** The same on each set of fresh server processes alone. */
  perSet: number[]
}

/** `variant`'s throughput ÷ `base`'s, pooled and on each set of servers. */
export function throughputRatios<V extends string>(sets: readonly Runs<V>[], variant: V, base: V): Ratios {
  return { ratio: pairedRatio(sets, variant, base), perSet: sets.map((runs) => pairedRatio([runs], variant, base)) }
}

/**
 * `variant`'s throughput ÷ `base`'s against a target of at least `target`. A server process keeps
 * its luck for life, so the ratio is settled only when every set of fresh processes comes out on
 * the same side of the target, and when two identical servers (suite 1's control, if it ran) came
 * out within the target's margin (0.01 for 0.99); otherwise `noise`: this run cannot tell either
 * way, and a ✅ would mean no more than a ❌. Errors (`clean` false) always fail.
 */
export function judgeThroughput<V extends string>(sets: readonly Runs<V>[], variant: V, base: V, target: number, clean: boolean): Ratios & { met: Row['met'] } {
  const { ratio, perSet } = throughputRatios(sets, variant, base)
  const split = perSet.some((r) => r >= target) && perSet.some((r) => r < target)
  const noisy = split || (controlDeviation !== undefined && controlDeviation > 1 - target)
  return { ratio, perSet, met: !clean ? false : noisy ? 'noise' : ratio >= target }
}

/** `1.031 (sets 0.981, 1.031, 1.052)`: the pooled ratio and each set's. */
export function formatRatios({ ratio, perSet }: Ratios): string {
  return perSet.length > 1 ? `${ratio.toFixed(3)} (sets ${perSet.map((r) => r.toFixed(3)).join(', ')})` : ratio.toFixed(3)
}
