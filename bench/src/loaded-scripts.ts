import { Session } from 'node:inspector'
import { createRequire } from 'node:module'

/**
 * Every module this process has loaded, found without a loader hook (so that what is measured
 * runs exactly as in production): ES modules from the inspector (the module map keeps their
 * scripts), CommonJS from require.cache (its scripts may be collected once run), and native
 * addons from the process report.
 */
export async function loadedScripts(): Promise<string[]> {
  const urls = new Set<string>([...Object.keys(createRequire(import.meta.url).cache), ...(process.report.getReport() as { sharedObjects: string[] }).sharedObjects])
  const session = new Session()
  session.connect()
  session.on('Debugger.scriptParsed', ({ params }) => {
    if (params.url) urls.add(params.url)
  })
  await new Promise<void>((resolve, reject) => session.post('Debugger.enable', (err) => (err ? reject(err) : resolve())))
  await new Promise<void>((resolve) => session.post('Debugger.disable', () => resolve()))
  session.disconnect()
  return [...urls]
}
