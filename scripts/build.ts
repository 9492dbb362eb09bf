/**
 * `npm run build`: bundles the Node entries into dist/ with esbuild (ESM, node20) and writes the
 * `.d.ts` files of the package entries with `tsc -p tsconfig.build.json`. npm packages stay external
 * (resolved from node_modules at run time; libsql is native and must be); source files are bundled.
 * `--js` skips the declarations (what `npm start` needs when it rebuilds).
 *
 * @see https://esbuild.github.io/api/#build
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'

/** Entry points: the server (`npm start`), the operator CLI (`bin`), and the two package entries. */
export const BUILD_ENTRIES = {
  'runtime/node': 'src/runtime/node.ts',
  'runtime/cli': 'src/runtime/cli.ts',
  index: 'src/index.ts',
  'client/index': 'src/client/index.ts',
}

const jsOnly = process.argv.includes('--js')
rmSync('dist', { recursive: true, force: true })
await build({
  entryPoints: BUILD_ENTRIES,
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
})
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
const cli = join('dist', 'runtime', 'cli.js')
writeFileSync(cli, `#!/usr/bin/env node\n${readFileSync(cli, 'utf8')}`)
chmodSync(cli, 0o755)

if (!jsOnly) {
  execFileSync(join('node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { stdio: 'inherit' })
  rewriteDeclarationImports('dist')
}
