import { Session } from 'node:inspector'

/**
 * Every script V8 has compiled in this process, ESM and CommonJS alike, from the inspector: no
 * loader hook needed, so what is measured runs exactly as in production.
 */
export async function loadedScripts(): Promise<string[]> {
  const session = new Session()
  session.connect()
  const urls = new Set<string>()
  session.on('Debugger.scriptParsed', ({ params }) => {
    if (params.url) urls.add(params.url)
  })
  await new Promise<void>((resolve, reject) => session.post('Debugger.enable', (err) => (err ? reject(err) : resolve())))
  await new Promise<void>((resolve) => session.post('Debugger.disable', () => resolve()))
  session.disconnect()
  return [...urls]
}
