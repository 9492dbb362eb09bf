/** The README's configuration table (Markdown), one row per knob: variable, default, meaning. */
import { KNOB_DOCS } from './knob-docs.ts'
import type { Knob } from './knob.ts'

/** The table of `knobs`, without a trailing newline. */
export const configTable = (knobs: readonly Knob[]): string => {
  const rows = knobs.map(
    (knob) => `| \`${knob.env}\` | ${knob.default === undefined ? '–' : `\`${knob.default}\``} | ${KNOB_DOCS[knob.env] ?? ''} |`,
  )
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n')
}
