/**
 * `npm run build`: bundles the Node entries into dist/ with esbuild (ESM, node20) and writes the
 * `.d.ts` files of the package entries with `tsc -p tsconfig.build.json`.
 * `--js` skips the declarations (what `npm start` needs when it rebuilds). `--outdir <dir>` (with
 * `--js` only) writes the bundles elsewhere: the benchmarks build what `npm start` runs into a
 * directory of their own, so that a test rebuilding dist/ never pulls it from under them.
 *
 * @see https://esbuild.github.io/api/#build
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { PAGE_SCRIPT_ENTRY, PAGE_SCRIPT_OPTIONS } from '../src/adapters/platform/page-script.ts'

/** The server entries: `npm start`, the operator CLI (`bin`) and the `qrelay` package entry. */
const SERVER_ENTRIES = {
  'runtime/node': 'src/runtime/node.ts',
  'runtime/cli': 'src/runtime/cli.ts',
  index: 'src/index.ts',
}

/**
 * Packages the server bundle leaves to node_modules: native or optional ones (libsql, ioredis,
 * maxmind: imported only when configured) and pino (its transports load files by path). Bundling
 * the rest measured 2–3 × faster to import than resolving hundreds of small files at start.
 */
const SERVER_EXTERNAL = ['libsql', 'ioredis', 'maxmind', 'pino', 'thread-stream']

/** Bundled CommonJS packages (ws, commander) call `require`: give them one in ESM. */
const REQUIRE_SHIM = "import { createRequire as __qrelayRequire } from 'node:module'; const require = __qrelayRequire(import.meta.url);"

const jsOnly = process.argv.includes('--js')
const outdirFlag = process.argv.indexOf('--outdir')
const outdir = outdirFlag === -1 ? 'dist' : process.argv[outdirFlag + 1]
if (outdir === undefined || outdir.startsWith('--')) throw new Error('build: --outdir needs a directory')
if (outdir !== 'dist' && !jsOnly) throw new Error('build: --outdir goes with --js (the declarations are for dist/ only)')
rmSync(outdir, { recursive: true, force: true })
const common = { outdir, bundle: true, format: 'esm', target: 'node20', sourcemap: true, logLevel: 'warning' } as const
await Promise.all([
  build({
    ...common,
    entryPoints: SERVER_ENTRIES,
    platform: 'node',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    external: SERVER_EXTERNAL,
    banner: { js: REQUIRE_SHIM },
  }),
  // The device SDK: platform-neutral ESM, its dependencies left to the consumer's bundler.
  build({ ...common, entryPoints: { 'client/index': 'src/client/index.ts' }, platform: 'neutral', packages: 'external' }),
  // The pages' browser script (docs/pages.md), read by the Node runtime from dist/assets/pages.js.
  build({ ...PAGE_SCRIPT_OPTIONS, entryPoints: { 'assets/pages': PAGE_SCRIPT_ENTRY }, outdir, logLevel: 'warning' }),
])

/** Declarations keep the sources' `.ts` import suffixes; consumers resolve `.js` to the `.d.ts` next to it. */
const rewriteDeclarationImports = (dir: string): void => {
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.d.ts')) continue
    const file = join(dir, entry)
    const text = readFileSync(file, 'utf8')
    writeFileSync(file, text.replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g, '$1$2$3.js$2'))
  }
}

// The CLI is the package's `bin`: executable by itself.
const cli = join(outdir, 'runtime', 'cli.js')
writeFileSync(cli, `#!/usr/bin/env node\n${readFileSync(cli, 'utf8')}`)
chmodSync(cli, 0o755)

if (!jsOnly) {
  execFileSync(join('node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { stdio: 'inherit' })
  rewriteDeclarationImports('dist')
}
