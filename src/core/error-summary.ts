/**
 * What a log may say about an unexpected error: its class, its code (a RelayError code or a system
 * code such as `ECONNRESET`), the same for its cause, and where in the code it was thrown. Never the
 * message and never the stack's first line: messages can quote request bodies, headers, keys or
 * connection strings.
 */

/** The loggable description of an error. */
export interface ErrorSummary {
  class: string
  code?: string
  cause?: { class: string; code?: string }
  /** Up to 8 `at …` lines of the stack: code locations only. */
  at?: string[]
}

const CODE = /^[A-Z][A-Z0-9_]{1,40}$/
const CLASS = /^[A-Za-z_$][\w$]{0,60}$/
const MAX_FRAMES = 8

const classOf = (value: unknown): string => {
  if (!(value instanceof Error)) return typeof value
  const name = value.constructor?.name ?? 'Error'
  return CLASS.test(name) ? name : 'Error'
}

const codeOf = (value: unknown): string | undefined => {
  const code = (value as { code?: unknown } | null | undefined)?.code
  return typeof code === 'string' && CODE.test(code) ? code : undefined
}

/**
 * Describes `error` for a log line without a word of its message.
 *
 * @example
 * log.error({ err: summarizeError(error) }, 'request failed')
 */
export const summarizeError = (error: unknown): ErrorSummary => {
  const summary: ErrorSummary = { class: classOf(error) }
  const code = codeOf(error)
  if (code !== undefined) summary.code = code
  const cause = error instanceof Error ? error.cause : undefined
  if (cause !== undefined) {
    const causeCode = codeOf(cause)
    summary.cause = { class: classOf(cause), ...(causeCode === undefined ? {} : { code: causeCode }) }
  }
  const stack = error instanceof Error && typeof error.stack === 'string' ? error.stack : ''
  // Frames are the lines that start with "at"; the message before them may span lines of its own.
  const frames = stack
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^at [^\s]/.test(line) && !line.includes('data:'))
    .slice(0, MAX_FRAMES)
  if (frames.length > 0) summary.at = frames
  return summary
}
