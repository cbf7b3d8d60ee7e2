import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'auth',
    // argon2 at full cost and a database per file: seconds, not milliseconds.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
