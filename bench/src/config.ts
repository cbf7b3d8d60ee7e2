/** `BENCH_SMOKE=1` (CI) runs every benchmark briefly, to prove it works; the numbers mean little then. */
export const smoke = process.env.BENCH_SMOKE === '1'
/**
 * HTTP comparisons: many short runs, alternated, rather than a few long ones. The noise on these
 * machines comes in spells of seconds; short runs spread each spell over every variant.
 */
export const seconds = smoke ? 0.5 : 1
export const rounds = smoke ? 1 : 7
/** Discarded runs of each variant first: JIT, caches and connection pools warm up alike. */
export const warmups = smoke ? 1 : 2
export const connections = 10
