import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import type { FromServer, ServerSpec } from './server.js'

export interface RunningServer {
  url: string
  /** Every script the server process has compiled so far (module URLs and paths). */
  modules(): Promise<string[]>
  stop(): Promise<void>
}

const serverScript = new URL('./server.ts', import.meta.url).pathname

/** Starts a server in a child process and waits until it listens on loopback. */
export async function startServer(spec: ServerSpec, env: Record<string, string> = {}): Promise<RunningServer> {
  const child: ChildProcess = fork(serverScript, {
    execArgv: ['--import', 'jiti/register'],
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env, BENCH_SPEC: JSON.stringify(spec) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const next = async <T extends FromServer['type']>(type: T): Promise<Extract<FromServer, { type: T }>> => {
    for (;;) {
      const [message] = (await Promise.race([
        once(child, 'message'),
        once(child, 'exit').then(([code]) => {
          throw new Error(`benchmark server exited with code ${String(code)}`)
        }),
      ])) as [FromServer]
      if (message.type === 'error') throw new Error(`benchmark server failed to start: ${message.message}`)
      if (message.type === type) return message as Extract<FromServer, { type: T }>
    }
  }
  const { url } = await next('listening')
  return {
    url,
    async modules() {
      child.send({ type: 'modules' })
      return (await next('modules')).modules
    },
    async stop() {
      const exited = once(child, 'exit')
      child.send({ type: 'stop' })
      await exited
    },
  }
}
