/** `BENCH_SMOKE=1` (CI) runs every benchmark briefly, to prove it works; the numbers mean little then. */
export const smoke = process.env.BENCH_SMOKE === '1'
export const seconds = smoke ? 0.5 : 3
export const rounds = smoke ? 1 : 3
export const connections = 10
