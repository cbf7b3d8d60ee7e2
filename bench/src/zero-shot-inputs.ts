// What the zero-shot suites classify: one support-ticket text and up to 20 classes.
export const TEXT = 'I have a problem with my iphone that needs to be resolved asap!! The screen is cracked and the battery is dead.'
export const CLASSES = ['urgent', 'not urgent', 'phone', 'tablet', 'computer', 'billing', 'refund', 'delivery', 'account', 'password',
  'weather', 'sport', 'music', 'travel', 'food', 'health', 'work', 'school', 'game', 'car']
export const CLASS_COUNTS = [2, 5, 10, 20] as const

export type Dtype = 'fp32' | 'q8'
export type Kind = 'stock' | 'batched'

export interface ZeroShotPipeline {
  (text: string, labels: string[], options: { multi_label: boolean }): Promise<unknown>
  model: unknown
  tokenizer: unknown
}

/** Reported by zero-shot-peak.ts after each class count (ascending): the process's peak RSS so far. */
export interface PeakMessage {
  classes: number
  peakBytes: number
}
