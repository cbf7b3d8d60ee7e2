// The playground's zero-shot block, for benchmark servers (see server.ts: `blocks: { module }`).
import type { AnyBlock } from '@mlblocks/core'
import { zeroShotClassification, zeroShotSettings } from '../../../apps/playground/src/blocks/zero-shot/index.js'

export const blocks = (env: Record<string, string>): AnyBlock[] => [zeroShotClassification(zeroShotSettings(env))]
