import { defineConfig } from '@mlblocks/core'
import { echo } from './src/blocks/echo.js'

export default defineConfig({
  server: { port: 3000 },
  blocks: [echo],
  plugins: [{ module: '@mlblocks/auth', enabled: false }],
})
