export interface Row {
  benchmark: string
  measure: string
  value: string
  target: string
  /** undefined: informational; `noise`: a target this run cannot settle (`judgeCpu`). */
  met?: boolean | 'noise'
}

export const ratio = (a: number, b: number): string => (b === 0 ? 'n/a' : (a / b).toFixed(3))
export const ms = (v: number): string => `${v.toFixed(2)} ms`

const MARKS = { true: '✅', false: '❌', noise: '❔ within noise' } as const

/** A markdown table of the rows, with a mark where a target applies. */
export function toMarkdown(rows: readonly Row[]): string {
  const lines = ['| benchmark | measure | value | target | met |', '| --- | --- | --- | --- | --- |']
  for (const r of rows) lines.push(`| ${r.benchmark} | ${r.measure} | ${r.value} | ${r.target} | ${r.met === undefined ? '' : MARKS[`${r.met}`]} |`)
  return lines.join('\n')
}
