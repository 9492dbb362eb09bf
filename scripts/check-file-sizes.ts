/**
 * Fails when a TypeScript (or TSX) file of src/ is longer than 300 lines (CONTRIBUTING.md: one concept per
 * file), listing the offenders longest first. Part of `npm run lint`. Lines are counted as `wc -l`
 * does; Biome's noExcessiveLinesPerFile stops at the last token and misses trailing comments.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

const MAX_LINES = 300
const root = new URL('..', import.meta.url).pathname

const linesOf = (text: string): number => {
  const newlines = text.split('\n').length - 1
  return text.length > 0 && !text.endsWith('\n') ? newlines + 1 : newlines
}

const offenders = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.ts') || name.endsWith('.tsx'))
  .map((name) => join(root, 'src', name))
  .map((path) => ({ path: relative(root, path), lines: linesOf(readFileSync(path, 'utf8')) }))
  .filter((file) => file.lines > MAX_LINES)
  .sort((a, b) => b.lines - a.lines)

if (offenders.length > 0) {
  process.stderr.write(`${offenders.length} file(s) in src longer than ${MAX_LINES} lines:\n`)
  for (const file of offenders) process.stderr.write(`  ${file.path}: ${file.lines}\n`)
  process.exitCode = 1
}
