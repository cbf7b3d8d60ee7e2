import { describe, expect, it } from 'vitest'
import { combineRequests, paddingShare, planPasses } from '../src/blocks/zero-shot/combine.js'

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
    const logits = combineRequests(model.run, { maxPairs: 64 })
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
    const logits = combineRequests(model.run, { maxPairs: 3 })
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
    }, { maxPairs: 8 })
    await expect(logits({ premise: 'a', hypotheses: ['1'] })).rejects.toThrow('model exploded')
    fail = false
    await expect(logits({ premise: 'a', hypotheses: ['1'] })).resolves.toEqual([[0]])
  })
})

describe('planPasses', () => {
  const jobs = (...tokens: number[]) => tokens.map((t) => ({ pairs: 5, tokens: t }))

  it('puts requests of similar length in one pass and keeps long ones from padding short ones', () => {
    expect(planPasses(jobs(12, 200, 14, 210, 13), { maxPairs: 64 })).toEqual([[0, 4, 2], [1, 3]])
    // One pass padded to 210 tokens is 57% padding; these two passes, 3%.
    expect(paddingShare([[12, 200, 14, 210, 13]])).toBeCloseTo(0.572, 3)
    expect(paddingShare([[12, 13, 14], [200, 210]])).toBeCloseTo(0.028, 3)
  })

  it('keeps requests of about one length in one pass: another pass costs more than a little padding', () => {
    expect(planPasses(jobs(30, 31, 29, 30, 32, 31), { maxPairs: 64 })).toEqual([[2, 0, 3, 1, 5, 4]])
  })

  it('never puts more than maxPairs pairs in a pass, and never splits a request', () => {
    const passes = planPasses(jobs(20, 20, 20, 20, 20), { maxPairs: 12 })
    expect(passes.map((p) => p.length)).toEqual([2, 2, 1])
    expect(planPasses([{ pairs: 30, tokens: 20 }], { maxPairs: 12 })).toEqual([[0]])
  })
})

describe('combineRequests, planning passes by length', () => {
  it('runs the pass holding the oldest waiting request first, with the requests of its length; the others next', async () => {
    const calls: string[][] = []
    const releases: Array<() => void> = []
    const run = async (premises: readonly string[]) => {
      calls.push([...new Set(premises)])
      await new Promise<void>((r) => releases.push(r))
      return premises.map((p) => [p.length])
    }
    const logits = combineRequests(run, { maxPairs: 64 })
    const short = 's'.repeat(10)
    const long = 'l'.repeat(300)
    const first = logits({ premise: short, hypotheses: ['a'] })
    await tick()
    const waiting = [
      logits({ premise: `${long}1`, hypotheses: ['a', 'b'] }),
      logits({ premise: `${short}1`, hypotheses: ['a', 'b'] }),
      logits({ premise: `${long}2`, hypotheses: ['a', 'b'] }),
      logits({ premise: `${short}2`, hypotheses: ['a', 'b'] }),
    ]
    releases.shift()!()
    await first
    await tick()
    expect(calls[1]).toEqual([`${long}1`, `${long}2`]) // the oldest waiting request is a long one
    releases.shift()!()
    await tick()
    await tick()
    expect(calls[2]).toEqual([`${short}1`, `${short}2`])
    releases.shift()!()
    expect((await Promise.all(waiting)).map((rows) => rows.map(([n]) => n))).toEqual([[301, 301], [11, 11], [301, 301], [11, 11]])
  })

  it('fails a request whose length cannot be measured, alone, and keeps serving', async () => {
    const logits = combineRequests(async (premises) => premises.map(() => [1]), { maxPairs: 8 }, (job) => {
      if (job.premise === 'bad') throw new Error('cannot tokenize')
      return 1
    })
    await expect(logits({ premise: 'bad', hypotheses: ['1'] })).rejects.toThrow('cannot tokenize')
    await expect(logits({ premise: 'ok', hypotheses: ['1'] })).resolves.toEqual([[1]])
  })
})
