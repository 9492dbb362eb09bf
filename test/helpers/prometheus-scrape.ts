/**
 * Reads a Prometheus text exposition (format 0.0.4) into samples, for the metrics tests: every line
 * that is not a comment is `name{label="value",…} number`.
 */

/** One sample: its metric name, labels and value. */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** Every sample of `text`; throws on a line that is neither a comment nor a sample. */
export const parseExposition = (text: string): Sample[] => {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = SAMPLE.exec(line)
    if (match === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, name, value] of (match[2] ?? '').matchAll(LABEL)) labels[name as string] = (value as string).replace(/\\(.)/g, '$1')
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) })
  }
  return samples
}

/** The value of the sample of `name` whose labels include `labels` (0 when there is none). */
export const sampleValue = (samples: Sample[], name: string, labels: Record<string, string> = {}): number => {
  const found = samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  return found?.value ?? 0
}

/** Whether a sample of `name` exists at all. */
export const hasSample = (samples: Sample[], name: string): boolean => samples.some((s) => s.name === name)
