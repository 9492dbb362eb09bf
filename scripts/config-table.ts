/** Prints the configuration table of README.md from src/config.ts (`node --import tsx scripts/config-table.ts`). */
import { KNOBS } from '../src/config.ts'

process.stdout.write('| Variable | Default | Meaning |\n|---|---|---|\n')
for (const knob of KNOBS) {
  process.stdout.write(`| \`${knob.env}\` | ${knob.default === undefined ? '–' : `\`${knob.default}\``} | ${knob.doc} |\n`)
}
