/**
 * The Worker's static assets (wrangler.toml `[assets]`), written into `.wrangler/assets`: the pages'
 * browser script, bundled exactly as `scripts/build.ts` bundles it for Node; the pages' catalogs, style
 * sheet and feed script as JSON; the table of every OpenAPI operation as JSON (what Node computes from
 * the sources on the first `/openapi.json`), the `/docs` style sheet, and the list of common passwords
 * the password policy refuses. The
 * Worker reads them through its `ASSETS` binding (docs/workers.md). Run by wrangler's `[build]` before
 * `wrangler deploy` / `dev`, and by the `workers` test project's setup.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, relative } from 'node:path'
import { build } from 'esbuild'
import { PAGE_SCRIPT_ENTRY, PAGE_SCRIPT_OPTIONS } from '../src/adapters/platform/page-script.ts'
import { COMMON_PASSWORDS } from '../src/core/auth/common-passwords.ts'
import { DOCS_CSS } from '../src/http/openapi/docs-style.ts'
import { operationTable } from '../src/http/openapi/document.ts'
import { PAGE_CONTENT_FROM_SOURCES } from '../src/http/pages/page-content-sources.ts'
import {
  COMMON_PASSWORDS_ASSET,
  DOCS_STYLE_ASSET,
  OPENAPI_TABLE_ASSET,
  PAGE_CONTENT_ASSET,
  PAGE_SCRIPT_ASSET,
} from '../src/runtime/workers-assets.ts'

/** The `[assets]` directory of wrangler.toml. */
export const WORKER_ASSETS_DIR = '.wrangler/assets'

/** Where an asset is written before it is renamed into the assets directory (same file system, outside it). */
const PARTIAL_DIR = '.wrangler/assets-partial'

/**
 * Writes every asset into the assets directory. Each file is written beside it and renamed over the
 * old one, so that a reader (a workers test while another test rebuilds the assets, `wrangler dev`)
 * sees the old file or the new one, never one half-written.
 */
export const buildWorkerAssets = async (): Promise<void> => {
  mkdirSync(PARTIAL_DIR, { recursive: true })
  const write = (path: string, content: string | Uint8Array): void => {
    const file = `${WORKER_ASSETS_DIR}${path}`
    const partial = join(PARTIAL_DIR, `${process.pid}-${basename(file)}`)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(partial, content)
    renameSync(partial, file)
  }
  write(OPENAPI_TABLE_ASSET, JSON.stringify(operationTable()))
  write(PAGE_CONTENT_ASSET, JSON.stringify(PAGE_CONTENT_FROM_SOURCES))
  write(DOCS_STYLE_ASSET, DOCS_CSS)
  write(COMMON_PASSWORDS_ASSET, JSON.stringify([...COMMON_PASSWORDS]))
  const { outputFiles } = await build({
    ...PAGE_SCRIPT_OPTIONS,
    entryPoints: { [PAGE_SCRIPT_ASSET.slice(1).replace(/\.js$/, '')]: PAGE_SCRIPT_ENTRY },
    outdir: WORKER_ASSETS_DIR,
    logLevel: 'warning',
    write: false,
  })
  for (const output of outputFiles) write(`/${relative(WORKER_ASSETS_DIR, output.path)}`, output.contents)
}

if (process.argv[1]?.endsWith('worker-assets.ts')) await buildWorkerAssets()
