import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'auth',
    // argon2 at full cost and a database per file: seconds, not milliseconds.
    testTimeout: 30_000,
    // One file at a time: the enumeration test compares login times, which another file's argon2
    // work on the other core would skew.
    fileParallelism: false,
    hookTimeout: 60_000,
  },
})
