/**
 * The Worker's static assets (wrangler.toml `[assets]`): the pages' browser script, bundled exactly as
 * `scripts/build.ts` bundles it for Node, into `.wrangler/assets/assets/pages.js`. The Worker reads it
 * through its `ASSETS` binding and serves it under its content-hashed path (docs/workers.md). Run by
 * wrangler's `[build]` before `wrangler deploy` / `dev`, and by the `workers` test project's setup.
 */
import { mkdirSync } from 'node:fs'
import { build } from 'esbuild'
import { PAGE_SCRIPT_ENTRY, PAGE_SCRIPT_OPTIONS } from '../src/adapters/platform/page-script.ts'

/** The `[assets]` directory of wrangler.toml. */
export const WORKER_ASSETS_DIR = '.wrangler/assets'

/** Bundles the page script into the assets directory. */
export const buildWorkerAssets = async (): Promise<void> => {
  mkdirSync(`${WORKER_ASSETS_DIR}/assets`, { recursive: true })
  await build({
    ...PAGE_SCRIPT_OPTIONS,
    entryPoints: { 'assets/pages': PAGE_SCRIPT_ENTRY },
    outdir: WORKER_ASSETS_DIR,
    logLevel: 'warning',
  })
}

if (process.argv[1]?.endsWith('worker-assets.ts')) await buildWorkerAssets()
