/**
 * Regenerates the configuration table of docs/configuration.md from the declaration in src/config/knobs, between
 * the `config-table:start` and `config-table:end` markers (`node --import tsx scripts/config-table.ts`).
 * With `--print`, prints the table instead of writing the file.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { configTable, KNOBS } from '../src/config.ts'

const table = configTable(KNOBS)

if (process.argv.includes('--print')) {
  process.stdout.write(`${table}\n`)
} else {
  const path = new URL('../docs/configuration.md', import.meta.url)
  const doc = readFileSync(path, 'utf8')
  const start = doc.indexOf('<!-- config-table:start')
  const end = doc.indexOf('<!-- config-table:end -->')
  if (start < 0 || end < start) throw new Error('docs/configuration.md has no config-table markers')
  const startLineEnd = doc.indexOf('\n', start) + 1
  writeFileSync(path, `${doc.slice(0, startLineEnd)}${table}\n${doc.slice(end)}`)
  process.stdout.write(`docs/configuration.md: ${KNOBS.length} settings\n`)
}
