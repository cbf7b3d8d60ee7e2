// What the zero-shot suites classify: one support-ticket text and up to 20 classes.
export const TEXT = 'I have a problem with my iphone that needs to be resolved asap!! The screen is cracked and the battery is dead.'
export const CLASSES = ['urgent', 'not urgent', 'phone', 'tablet', 'computer', 'billing', 'refund', 'delivery', 'account', 'password',
  'weather', 'sport', 'music', 'travel', 'food', 'health', 'work', 'school', 'game', 'car']
export const CLASS_COUNTS = [2, 5, 10, 20] as const
/** The seed's example: its classes (with `multipleTrue: true`). */
export const SEED_CLASSES = ['urgent', 'not urgent', 'phone', 'tablet', 'computer']
/**
 * What the clients of the concurrency suite send, in turn: texts of the lengths support tickets
 * come in (a line, the seed's sentence, a paragraph, a long email), so that a combined pass mixes
 * lengths as real traffic does.
 */
export const MIX_TEXTS = [
  'My phone is broken, help!',
  'I have a problem with my iphone that needs to be resolved asap!!',
  'Hello, I ordered a new laptop two weeks ago and the package still has not arrived. The tracking page says it left the warehouse but nothing has changed since. Could you check where it is and tell me when it will be delivered?',
  'Hi, my tablet stopped charging yesterday and the screen flickers when it is on. I tried another cable, another charger and a reset, and nothing helped. I need it for work on Monday, so please tell me how to send it in for repair, or whether you can replace it.',
]

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
