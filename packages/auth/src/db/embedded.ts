import { createRequire } from 'node:module'
import { Duplex } from 'node:stream'
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads'

// PGlite runs Postgres compiled to WebAssembly, synchronously, in the thread that calls it: a login's
// few queries would hold the event loop for milliseconds. So it lives in a worker thread of its own
// and speaks the Postgres wire protocol over a MessagePort: the server talks to it with the same
// `postgres` driver as to a real Postgres. A CommonJS string, so that it runs the same from the
// sources (tests) and from the build.
//
// The worker lowers its own thread to nice 10 (on Linux the nice value belongs to the thread, as
// for the argon2 workers): where the server has few cores, a flood of logins' queries then yields
// to the event loop serving predictions, yet still gets a tenth of a busy core, so the queries of
// logins and of first uses of a credential keep moving.
//
// Worker ← main: { open: path } once, then { connect: port } per driver connection, then { close }.
// On a connection's port: client bytes in, server bytes out; `null` in means the client hung up.
export const WORKER_NICE = 10

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const { PGlite } = require(workerData.pglite)
if (process.platform === 'linux') {
  try { require('node:os').setPriority(workerData.nice) } catch {}
}
const SSL_REQUEST = 80877103
let db
let queue = Promise.resolve() // one message at a time: PGlite is one session

function serve(port) {
  let buffered = Buffer.alloc(0)
  let started = false
  let open = true
  const hangUp = () => {
    if (!open) return
    open = false
    port.close()
    // A client that goes away inside a transaction must not leave it open for the next one.
    queue = queue.then(() => (db.isInTransaction() ? db.exec('rollback') : undefined)).catch(() => undefined)
  }
  port.on('message', (chunk) => {
    if (chunk === null) return hangUp()
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : Buffer.from(chunk)
    const messages = []
    for (;;) {
      // The startup message (and an SSL request before it) has no type byte; later ones do.
      const length = started ? (buffered.length >= 5 ? 1 + buffered.readInt32BE(1) : 0) : buffered.length >= 8 ? buffered.readInt32BE(0) : 0
      if (length === 0 || buffered.length < length) break
      const message = buffered.subarray(0, length)
      buffered = buffered.subarray(length)
      if (!started && length === 8 && message.readInt32BE(4) === SSL_REQUEST) {
        port.postMessage(Buffer.from('N'))
        continue
      }
      started = true
      if (message[0] === 0x58) return hangUp() // Terminate: close this connection, not the database
      messages.push(message)
    }
    if (messages.length === 0) return
    queue = queue.then(async () => {
      const replies = []
      for (const message of messages) replies.push(await db.execProtocolRaw(new Uint8Array(message)))
      if (open) port.postMessage(Buffer.concat(replies))
    }).catch((err) => {
      if (open) port.postMessage({ error: err instanceof Error ? err.message : String(err) })
      hangUp()
    })
  })
}

parentPort.on('message', async (message) => {
  if (message.connect) return serve(message.connect)
  if (message.open) {
    try {
      db = new PGlite(message.open)
      await db.waitReady
      parentPort.postMessage({ ready: true })
    } catch (err) {
      parentPort.postMessage({ error: err instanceof Error ? err.message : String(err) })
    }
    return
  }
  if (message.close) {
    await queue
    await db?.close().catch(() => undefined)
    parentPort.postMessage({ closed: true })
  }
})
`

/** A failed connection to the embedded database: its `E…` code makes it an outage (503), as a lost Postgres connection is. */
const embeddedError = (message: string): Error => Object.assign(new Error(message), { code: 'EEMBEDDED' })

/** One driver connection to the worker: the socket the `postgres` driver reads and writes. */
class WorkerSocket extends Duplex {
  /** The driver checks this before it sends Terminate. */
  readyState: 'open' | 'closed' = 'open'

  constructor(private readonly port: MessagePort) {
    super()
    port.on('message', (data: Uint8Array | { error: string }) => {
      if (data instanceof Uint8Array) this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
      else this.destroy(embeddedError(`the embedded database failed: ${data.error}`))
    })
    port.on('close', () => this.destroy())
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.port.postMessage(chunk)
    done()
  }

  override _final(done: (err?: Error | null) => void): void {
    this.port.postMessage(null)
    done()
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.readyState = 'closed'
    this.port.close()
    done(err)
  }
}

/** PGlite on a worker thread, reached through sockets for the `postgres` driver. */
export class EmbeddedPostgres {
  readonly #worker: Worker
  readonly #sockets = new Set<WorkerSocket>()
  #exited: Error | undefined

  private constructor(worker: Worker) {
    this.#worker = worker
    let reason = ''
    // An error thrown in the worker (PGlite aborting, say) ends it: keep the reason for the exit,
    // which fails every connection, rather than let an unhandled 'error' event end the server.
    worker.on('error', (err) => (reason = `: ${err.message}`))
    worker.on('exit', (code) => {
      this.#exited = new Error(`the embedded database stopped (worker exit code ${code}${reason})`)
      for (const socket of this.#sockets) socket.destroy(embeddedError(this.#exited.message))
    })
  }

  /** Starts the worker and opens the database folder `path` in it; rejects with PGlite's reason. */
  static async open(path: string): Promise<EmbeddedPostgres> {
    const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite')
    // No inherited execArgv: `--input-type=module` would make the script ESM, and loader hooks are not needed.
    const worker = new Worker(WORKER, { eval: true, execArgv: [], workerData: { pglite, nice: WORKER_NICE } })
    const embedded = new EmbeddedPostgres(worker)
    try {
      await embedded.#call({ open: path }, 'ready')
    } catch (err) {
      await worker.terminate()
      throw err
    }
    return embedded
  }

  /** A new connection, for the driver's `socket` option. */
  connect(): Duplex {
    if (this.#exited) throw embeddedError(this.#exited.message)
    const { port1, port2 } = new MessageChannel()
    this.#worker.postMessage({ connect: port2 }, [port2])
    const socket = new WorkerSocket(port1)
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
    return socket
  }

  /** Waits for queries in flight, closes the database cleanly and stops the worker. */
  async close(): Promise<void> {
    if (this.#exited) return
    try {
      await this.#call({ close: true }, 'closed')
    } finally {
      await this.#worker.terminate()
    }
  }

  #call(message: object, answer: 'ready' | 'closed'): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: Record<string, unknown>) => {
        if (!(answer in reply) && !('error' in reply)) return
        this.#worker.off('message', onMessage).off('exit', onExit).unref()
        if ('error' in reply) reject(new Error(String(reply.error)))
        else resolve()
      }
      const onExit = (code: number) => reject(new Error(`the embedded database stopped (worker exit code ${code})`))
      this.#worker.on('message', onMessage).on('exit', onExit).ref() // held open until it answers
      this.#worker.postMessage(message)
    })
  }
}
