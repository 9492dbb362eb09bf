/**
 * The pages' browser script for the Node runtime: `dist/assets/pages.js` as `npm run build` wrote
 * it, or, when qrelay runs from its sources (`npm run dev`, the tests), the same bundle built in
 * memory with esbuild (a development dependency). Neither: no script, and the channel pages say
 * they need one (docs/pages.md).
 *
 * @see ../../../scripts/build.ts
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

/** The entry of the page script, and how both the build and this file bundle it. */
export const PAGE_SCRIPT_ENTRY = 'src/client/pages/main.ts'
export const PAGE_SCRIPT_OPTIONS = { bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022' } as const

/** Reads or builds the page script; undefined when there is none. */
export const loadPageScript = async (): Promise<string | undefined> => {
  // Built: dist/runtime/*.js and dist/chunks/*.js are both one level below dist/assets.
  try {
    return await readFile(new URL('../assets/pages.js', import.meta.url), 'utf8')
  } catch {
    // Not built: from the sources, build it below.
  }
  try {
    const entry = fileURLToPath(new URL('../../client/pages/main.ts', import.meta.url))
    // A computed specifier: the server bundle must not pull esbuild in.
    const specifier = 'esbuild'
    const esbuild = (await import(specifier)) as typeof import('esbuild')
    const built = await esbuild.build({ ...PAGE_SCRIPT_OPTIONS, entryPoints: [entry], write: false, logLevel: 'silent' })
    return built.outputFiles[0]?.text
  } catch {
    // No sources or no esbuild (a production install without dist/assets): no page script.
    return undefined
  }
}

/**
 * Calls `create(services, host)` with a loader of the page script added to `host`. The script is
 * read (or built) once, on the first page that needs it, so it never delays the start.
 *
 * @example
 * const app = await withPageScript(createApp, services, { getSocketAddress })
 */
export const withPageScript = async <S, H extends object, A>(
  create: (services: S, host: H & { pageScript: () => Promise<string | undefined> }) => A,
  services: S,
  host: H,
): Promise<A> => {
  let loading: Promise<string | undefined> | undefined
  const pageScript = (): Promise<string | undefined> => {
    loading ??= loadPageScript()
    return loading
  }
  return create(services, { ...host, pageScript })
}
