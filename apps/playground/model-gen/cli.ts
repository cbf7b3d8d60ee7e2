// Writes a tiny NLI model to a folder: node --import jiti/register model-gen/cli.ts <dir> [bert|bart]
import { resolve } from 'node:path'
import { generateTinyBartModel } from './tiny-bart.js'
import { generateTinyNliModel } from './tiny-nli.js'

const [dir, kind = 'bert'] = process.argv.slice(2)
if (!dir || (kind !== 'bert' && kind !== 'bart')) {
  console.error('usage: cli.ts <output folder> [bert|bart]')
  process.exit(1)
}
await (kind === 'bart' ? generateTinyBartModel : generateTinyNliModel)(resolve(dir))
console.log(resolve(dir))
