/**
 * What the benchmarks run as the qrelay server: by default what `npm start` runs, the esbuild bundle
 * of `src/runtime/node.ts` (`scripts/build.ts --js`), built once per run and per tree; with
 * `BENCH_SOURCE=1` the TypeScript sources through tsx instead. The bundle is written under the tree's
 * `node_modules/.cache/` (where Node finds the packages it leaves external, and where no test's rebuild
 * of dist/ can pull it away mid-run) and removed when the benchmark exits.
 *
 * A tree whose build script has no `--outdir` (a checkout from before it) is built into its own dist/.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'

/** The tree this file belongs to. */
const ROOT = resolve(import.meta.dirname, '..')

/** `BENCH_SOURCE=1`: run the sources through tsx, not the bundle `npm start` runs. */
export const RUN_SOURCES = process.env.BENCH_SOURCE === '1'

/** The bundle's entry of each tree built in this process. */
const built = new Map<string, string>()
/** Output directories this process made, removed at exit. */
const made: string[] = []
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
})

/** Builds `tree`'s server bundle (once per process) and returns its entry file. */
const bundleOf = (tree: string): string => {
  const known = built.get(tree)
  if (known !== undefined) return known
  const script = join(tree, 'scripts', 'build.ts')
  const ownDir = readFileSync(script, 'utf8').includes('--outdir')
  const outdir = ownDir ? join(tree, 'node_modules', '.cache', `qrelay-bench-${process.pid}`) : join(tree, 'dist')
  const args = ['--import', 'tsx', script, '--js', ...(ownDir ? ['--outdir', outdir] : [])]
  const run = spawnSync(process.execPath, args, { cwd: tree, encoding: 'utf8', timeout: 120_000 })
  const entry = join(outdir, 'runtime', 'node.js')
  if (run.status !== 0 || !existsSync(entry)) throw new Error(`bench: building ${tree} failed: ${run.stderr || run.error?.message}`)
  if (ownDir) made.push(outdir)
  built.set(tree, entry)
  return entry
}

/** The file that starts `tree`'s qrelay server, for a command that loads tsx anyway (a TypeScript preload). */
export const qrelayServerScript = (tree: string = ROOT, sources: boolean = RUN_SOURCES): string => {
  const root = resolve(tree)
  return sources ? join(root, 'src', 'runtime', 'node.ts') : bundleOf(root)
}

/**
 * The Node arguments that start `tree`'s qrelay server (flags such as `--cpu-prof` go before them).
 *
 * @example
 * const child = await startChild(process.execPath, [...profile, ...qrelayServerArgs()], { core: 0, env })
 */
export const qrelayServerArgs = (tree: string = ROOT, sources: boolean = RUN_SOURCES): string[] =>
  sources ? ['--import', 'tsx', qrelayServerScript(tree, true)] : [qrelayServerScript(tree, false)]

/** One line for a benchmark's header: which form of the server it runs. */
export const qrelayServerForm = (sources: boolean = RUN_SOURCES): string =>
  sources
    ? 'qrelay from its sources through tsx (BENCH_SOURCE=1)'
    : 'qrelay as `npm start` runs it (the esbuild bundle of src/runtime/node.ts)'
