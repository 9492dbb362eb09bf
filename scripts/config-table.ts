/**
 * Regenerates the configuration table of README.md from the declaration in src/config/knobs, between
 * the `config-table:start` and `config-table:end` markers (`node --import tsx scripts/config-table.ts`).
 * With `--print`, prints the table instead of writing the README.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { configTable, KNOBS } from '../src/config.ts'

const table = configTable(KNOBS)

if (process.argv.includes('--print')) {
  process.stdout.write(`${table}\n`)
} else {
  const path = new URL('../README.md', import.meta.url)
  const readme = readFileSync(path, 'utf8')
  const start = readme.indexOf('<!-- config-table:start')
  const end = readme.indexOf('<!-- config-table:end -->')
  if (start < 0 || end < start) throw new Error('README.md has no config-table markers')
  const startLineEnd = readme.indexOf('\n', start) + 1
  writeFileSync(path, `${readme.slice(0, startLineEnd)}${table}\n${readme.slice(end)}`)
  process.stdout.write(`README.md: ${KNOBS.length} settings\n`)
}
