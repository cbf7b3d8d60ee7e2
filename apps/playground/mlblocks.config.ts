import { defineConfig } from '@mlblocks/core'
import { zeroShotClassification } from './src/blocks/zero-shot/index.js'

export default defineConfig({
  server: { port: 3000 },
  blocks: [zeroShotClassification()],
  plugins: [
    // Off unless AUTH_ENABLED=true (or enabled: true here).
    { module: '@mlblocks/auth', enabled: false },
  ],
})
