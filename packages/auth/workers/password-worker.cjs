'use strict'
// The argon2 task of @mlblocks/auth's piscina pool (src/services/password-workers.ts). CommonJS
// and outside src/, so that the same file runs from the sources (tests) and from the package.
//
// Piscina's niceIncrement has already lowered this thread to nice 19 (on Linux the nice value
// belongs to the thread, setpriority(2) NOTES, so the event loop keeps its priority). Then, where
// chrt(1) is on the PATH, the thread goes under SCHED_IDLE (sched(7)): the kernel preempts an
// idle-policy thread as soon as a normal one wakes, so a request that wakes the event loop does not
// wait, where a nice 19 thread may first run out its time slice. Node cannot set a policy itself;
// without chrt, nice 19 stays.
const argon2 = require('@node-rs/argon2')

if (process.platform === 'linux') {
  try {
    const tid = require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()
    require('node:child_process').execFileSync('chrt', ['-i', '-p', '0', tid], { stdio: 'ignore', timeout: 5000 })
  } catch {}
}

module.exports = (job) => (job.op === 'hash' ? argon2.hashSync(job.password, job.options) : argon2.verifySync(job.hashed, job.password))
