/** `BENCH_SMOKE=1` (CI) runs every benchmark briefly, to prove it works; the numbers mean little then. */
export const smoke = process.env.BENCH_SMOKE === '1'
/**
 * HTTP comparisons: many short runs, alternated, rather than a few long ones. The noise on these
 * machines comes in spells of seconds; short runs spread each spell over every variant, and a
 * throughput ratio is taken within each round (`pairedRatio`).
 */
export const seconds = smoke ? 0.5 : 1
/**
 * HTTP comparisons run on several sets of fresh server processes, `rounds` rounds on each, pooled:
 * a server process keeps its luck for life (how its hot paths were compiled, where its memory
 * landed). Three pairs of processes, off and on, measured 0.84–0.89, 0.94–0.99 and 0.92–1.00 in
 * four blocks of rounds each; on another machine, four pairs of identical servers measured
 * 0.74–0.98 over twelve rounds of 0.25 s each. Suite 1 measures such a pair beside its own, as a control.
 */
export const processSets = smoke ? 1 : 3
export const rounds = smoke ? 1 : 2
/** Discarded runs of each variant first, on each set of servers: JIT, caches and connection pools warm up alike. */
export const warmups = 1
export const connections = 10
/**
 * Requests per run where the server's CPU per request is measured (`cpuLoad`): a fixed number, so
 * that every variant's CPU is read over the same work. `BENCH_CPU_REQUESTS` sets another.
 */
export const cpuRequests = Number(process.env.BENCH_CPU_REQUESTS) || (smoke ? 500 : 20_000)
