import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'playground',
    // Loading ONNX models and driving a browser take seconds, not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
