#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfigFile, oneLine } from './config.js'
import { createServer } from './server.js'
import { closeOnSignals } from './shutdown.js'

const USAGE = `Usage: mlblocks start [--config FILE] [--port N] [--host H]
       mlblocks help | --help | --version

Serves the blocks and plugins of mlblocks.config.ts (or .mts, .js, .mjs) in the current folder.
Settings also come from the environment: PORT, HOST, LOG_LEVEL, LOG_FORMAT, MLBLOCKS_BODY_LIMIT, AUTH_ENABLED, ...`

/** A mistake in how the CLI was called: printed as one line, then the usage. */
class UsageError extends Error {}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    })
  } catch (err) {
    // Node's own text is e.g. "Unknown option '--prot'. To specify a positional argument starting with a '-', ...".
    throw new UsageError(err instanceof Error ? err.message.split('. ')[0]!.replace(/\.$/, '') : String(err))
  }
}

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parse(argv)
  const [command, ...extra] = positionals
  if (values.version) {
    console.log(version)
    return
  }
  if (values.help || command === undefined || command === 'help') {
    console.log(USAGE)
    return
  }
  if (command !== 'start') throw new UsageError(`unknown command '${command}'`)
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra.join(' ')}' after start`)

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
  if (err instanceof UsageError) {
    process.stderr.write(`mlblocks: ${err.message}.\n\n${USAGE}\n`)
    process.exit(2)
  }
  process.stderr.write(`mlblocks: ${oneLine(err)}\n`)
  process.exit(1)
})
