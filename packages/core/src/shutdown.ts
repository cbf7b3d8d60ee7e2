import type { FastifyInstance } from 'fastify'

export interface ShutdownOptions {
  signals?: readonly NodeJS.Signals[]
  /** After this long, in-flight requests are abandoned and the process exits with 1. Default 10 s. */
  timeoutMs?: number
  exit?: (code: number) => void
}

/**
 * On SIGTERM or SIGINT: stop accepting connections, let in-flight requests finish, close plugins
 * (their `onClose` hooks), then exit. A second signal exits at once.
 */
export function closeOnSignals(app: FastifyInstance, options: ShutdownOptions = {}): () => void {
  const { signals = ['SIGTERM', 'SIGINT'], timeoutMs = 10_000, exit = (code) => process.exit(code) } = options
  let closing = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      app.log.warn({ signal }, 'second signal: exiting now')
      return exit(1)
    }
    closing = true
    app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    const timer = setTimeout(() => {
      app.log.error({ timeoutMs }, 'shutdown timed out')
      exit(1)
    }, timeoutMs)
    timer.unref()
    app.close().then(
      () => {
        clearTimeout(timer)
        exit(0)
      },
      (err: unknown) => {
        app.log.error({ err }, 'error while shutting down')
        exit(1)
      },
    )
  }
  for (const signal of signals) process.on(signal, onSignal)
  return () => {
    for (const signal of signals) process.off(signal, onSignal)
  }
}
