/**
 * `npm start`: runs the built server (dist/runtime/node.js), building it first when it is missing or
 * older than any file it is built from (src/, the build script, package.json). Plain JavaScript so
 * that it starts without a TypeScript loader; the build itself runs scripts/build.ts through tsx.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const BUNDLE = join('dist', 'runtime', 'node.js')

/** The latest modification time (ms) of `path`, or of any file below it. */
const newestMtime = (path) => {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = stat.mtimeMs
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)))
  return newest
}

/** The bundle's time, or -1 when there is none. */
const bundleMtime = () => {
  try {
    return statSync(BUNDLE).mtimeMs
  } catch {
    return -1
  }
}

const sources = Math.max(newestMtime('src'), newestMtime(join('scripts', 'build.ts')), newestMtime('package.json'))
if (bundleMtime() < sources) {
  process.stderr.write('qrelay: building dist/ (sources changed)\n')
  const built = spawnSync(process.execPath, ['--import', 'tsx', join('scripts', 'build.ts'), '--js'], { stdio: 'inherit' })
  if (built.status !== 0) process.exit(built.status ?? 1)
}
await import(pathToFileURL(BUNDLE).href)
