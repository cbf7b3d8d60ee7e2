// Writes the tiny NLI model to a folder: node --import jiti/register model-gen/cli.ts <dir>
import { resolve } from 'node:path'
import { generateTinyNliModel } from './tiny-nli.js'

const dir = process.argv[2]
if (!dir) {
  console.error('usage: cli.ts <output folder>')
  process.exit(1)
}
await generateTinyNliModel(resolve(dir))
console.log(resolve(dir))
