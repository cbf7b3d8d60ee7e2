import { describe, expect, it } from 'vitest'
import { combineRequests } from '../src/blocks/zero-shot/combine.js'

/** A stand-in for the model that records each call: row i is [premise length, hypothesis]. */
function recordingRun() {
  const calls: number[] = []
  let release: () => void = () => undefined
  const run = async (premises: readonly string[], hypotheses: readonly string[]) => {
    calls.push(premises.length)
    await new Promise<void>((r) => (release = r))
    return premises.map((p, i) => [p.length, Number(hypotheses[i])])
  }
  return { run, calls, release: () => release() }
}

const tick = () => new Promise((r) => setImmediate(r))

describe('combineRequests', () => {
  it('runs a request at once when idle, then combines the ones that arrived meanwhile into one call', async () => {
    const model = recordingRun()
    const logits = combineRequests(model.run, 64)
    const first = logits({ premise: 'a', hypotheses: ['1', '2'] })
    await tick()
    expect(model.calls).toEqual([2])
    const second = logits({ premise: 'bb', hypotheses: ['3'] })
    const third = logits({ premise: 'ccc', hypotheses: ['4', '5', '6'] })
    model.release()
    expect(await first).toEqual([[1, 1], [1, 2]])
    await tick()
    expect(model.calls).toEqual([2, 4])
    model.release()
    expect(await second).toEqual([[2, 3]])
    expect(await third).toEqual([[3, 4], [3, 5], [3, 6]])
  })

  it('never puts more than maxPairs pairs in one call, except a single larger request', async () => {
    const model = recordingRun()
    const logits = combineRequests(model.run, 3)
    const jobs = [logits({ premise: 'x', hypotheses: ['1'] })]
    await tick()
    jobs.push(logits({ premise: 'x', hypotheses: ['1', '2'] }), logits({ premise: 'x', hypotheses: ['1', '2'] }), logits({ premise: 'x', hypotheses: ['1', '2', '3', '4'] }))
    for (let i = 0; i < 4; i++) {
      model.release()
      await tick()
      await tick()
    }
    await Promise.all(jobs)
    expect(model.calls).toEqual([1, 2, 2, 4])
  })

  it('fails every request of a call that fails, and keeps serving', async () => {
    let fail = true
    const logits = combineRequests(async (premises) => {
      if (fail) throw new Error('model exploded')
      return premises.map(() => [0])
    }, 8)
    await expect(logits({ premise: 'a', hypotheses: ['1'] })).rejects.toThrow('model exploded')
    fail = false
    await expect(logits({ premise: 'a', hypotheses: ['1'] })).resolves.toEqual([[0]])
  })
})
