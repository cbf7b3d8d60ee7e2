import { defineConfig } from '@mlblocks/core'
import { zeroShotClassification } from './src/blocks/zero-shot/index.js'

export default defineConfig({
  server: { port: 3000 },
  blocks: [zeroShotClassification()],
  plugins: [
    // Off unless AUTH_ENABLED=true (or enabled: true here).
    { module: '@mlblocks/auth', enabled: false },
    // The page at /, to try the block in a browser (WEB_PAGE_ENABLED=false turns it off).
    { module: './src/web-page.ts' },
  ],
})
