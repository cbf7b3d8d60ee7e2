#!/usr/bin/env node
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfigFile, oneLine } from './config.js'
import { createServer } from './server.js'
import { closeOnSignals } from './shutdown.js'

const USAGE = `Usage: mlblocks start [--config FILE] [--port N] [--host H]

Serves the blocks and plugins of mlblocks.config.ts (or .js) in the current folder.
Settings also come from the environment: PORT, HOST, LOG_LEVEL, MLBLOCKS_BODY_LIMIT, AUTH_ENABLED, ...`

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [command] = positionals
  if (values.help || command === undefined) {
    console.log(USAGE)
    return
  }
  if (command !== 'start' || positionals.length > 1) throw new Error(`unknown command '${positionals.join(' ')}'. ${USAGE}`)

  const port = values.port === undefined ? undefined : Number(values.port)
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new Error(`--port must be a whole number from 0 to 65535; got '${values.port}'.`)
  }
  const { config, path } = await loadConfigFile(values.config)
  const app = await createServer(config, {
    root: dirname(path),
    server: { ...(port === undefined ? {} : { port }), ...(values.host ? { host: values.host } : {}) },
  })
  closeOnSignals(app)
  const { port: p, host } = app.mlblocks.settings
  await app.listen({ port: p, host })
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`mlblocks: ${oneLine(err)}\n`)
  process.exit(1)
})
