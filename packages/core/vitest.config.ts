import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'core',
    // The CLI tests spawn real servers; give slow machines room without hiding hangs.
    testTimeout: 15_000,
  },
})
