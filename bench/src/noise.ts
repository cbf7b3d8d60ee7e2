import { median, pairedRatio, type Runs } from './load.js'
import type { Row } from './report.js'

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

/** How far from 1 two identical servers came out in CPU per request in this run, once measured. */
let cpuControlDeviation: number | undefined

/** A control's ratio (two identical servers, CPU per request): the margin later verdicts are judged against. */
export function recordCpuControl(ratio: number): void {
  cpuControlDeviation = Math.abs(ratio - 1)
}

export interface CpuRatios extends Ratios {
  /** Median CPU per request (µs) of `base` and of `variant` on each set, i.e. on each fresh process. */
  baseUs: number[]
  variantUs: number[]
}

/**
 * CPU per request, `base` ÷ `variant` (off ÷ on: below 1 when `variant` costs more): the median
 * over every round of the ratio within the round, pooled and on each set of fresh processes.
 */
export function cpuRatios<V extends string>(sets: readonly Runs<V>[], variant: V, base: V): CpuRatios {
  const within = (runs: Runs<V>) => runs[variant].map((run, round) => runs[base][round]!.cpuUs! / run.cpuUs!)
  const us = (v: V) => sets.map((runs) => median(runs[v].map((run) => run.cpuUs!)))
  return { ratio: median(sets.flatMap(within)), perSet: sets.map((runs) => median(within(runs))), baseUs: us(base), variantUs: us(variant) }
}

/**
 * CPU per request off ÷ on against a target of at least `target`, judged as `judgeThroughput`
 * judges throughput: ❔ when the sets of fresh processes fall on both sides of it, or when two
 * identical servers (this run's CPU control) came out further from 1 than the target's margin.
 */
export function judgeCpu<V extends string>(
  sets: readonly Runs<V>[],
  variant: V,
  base: V,
  target: number,
  clean: boolean,
  /** The control measured beside this comparison (same route, same rounds), if any: judged by it instead. */
  control?: CpuRatios,
): CpuRatios & { met: Row['met'] } {
  const r = cpuRatios(sets, variant, base)
  const measured = sets.every((runs) => [...runs[variant], ...runs[base]].every((run) => run.cpuUs !== undefined))
  const split = r.perSet.some((x) => x >= target) && r.perSet.some((x) => x < target)
  // The control's worst set, not only its median: one lucky process must not settle a target.
  const deviation = control ? Math.max(Math.abs(control.ratio - 1), ...control.perSet.map((x) => Math.abs(x - 1))) : cpuControlDeviation
  const noisy = split || (deviation !== undefined && deviation > 1 - target)
  return { ...r, met: !clean || !measured ? false : noisy ? 'noise' : r.ratio >= target }
}

/** `0.981 (sets 0.97, 0.99, 1.00); µs per request by process, off 18.9, 19.2, 19.0 · on 19.5, 19.9, 19.1` */
export function formatCpu(r: CpuRatios, base: string, variant: string): string {
  const us = (values: number[]) => values.map((v) => v.toFixed(1)).join(', ')
  return `${formatRatios(r)}; µs per request by process: ${base} ${us(r.baseUs)} · ${variant} ${us(r.variantUs)}`
}

/** `1.031 (sets 0.981, 1.031, 1.052)`: the pooled ratio and each set's. */
export function formatRatios({ ratio, perSet }: Ratios): string {
  return perSet.length > 1 ? `${ratio.toFixed(3)} (sets ${perSet.map((r) => r.toFixed(3)).join(', ')})` : ratio.toFixed(3)
}
