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

/** How far into the stack its header (`<name>`, maybe ` [<code>]`, then `: <message>`) may begin its message. */
const MAX_HEADER_PREFIX = 160

/**
 * The code locations of `error`'s stack. The stack opens with the error's own line, `<name>: <message>`
 * (Node's own errors put ` [<code>]` after the name), as many lines as the message has, and any of them
 * may start with "at " (a message quoting a body line `at …`): frames are looked for only after the
 * message, never in it (finding 67). A stack that does not open with the message (changed after the
 * stack was made, or a stack written by hand) gives no frames: nothing of it can be told from a message.
 */
const framesOf = (error: unknown): string[] => {
  if (!(error instanceof Error) || typeof error.stack !== 'string') return []
  const { stack } = error
  const message = typeof error.message === 'string' ? error.message : ''
  const at = message === '' ? 0 : stack.indexOf(message)
  if (at < 0 || at > MAX_HEADER_PREFIX) return []
  const headerEnd = stack.indexOf('\n', at + message.length)
  if (headerEnd < 0) return []
  return stack
    .slice(headerEnd + 1)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^at [^\s]/.test(line) && !line.includes('data:'))
    .slice(0, MAX_FRAMES)
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
  const frames = framesOf(error)
  if (frames.length > 0) summary.at = frames
  return summary
}
