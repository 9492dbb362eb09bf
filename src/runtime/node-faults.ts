/**
 * The process's policy for a fault nothing else caught (an uncaught exception, or an unhandled promise
 * rejection, which Node raises as one): log it at error, without its message (it can quote a request or
 * a key: `summarizeError`), and exit 1 at once. Never swallowed: past such a fault the process's state
 * (a half-run write, a socket's queue, a timer that will not re-arm) cannot be trusted, and a supervisor
 * restarts a process that exits (docs/deploy.md). Faults qrelay expects (a store down, a peer gone, a
 * bad frame) are handled where they happen; this is for the one that was not.
 */
import { summarizeError } from '../core/error-summary.ts'
import type { Logger } from '../ports.ts'

/** Exit code of a process stopped by a fault nothing caught (Node's own for an uncaught exception). */
export const FAULT_EXIT_CODE = 1

let stderrErrorsHeard = false

/**
 * Writes `line` to stderr, prefixed `qrelay: `. A stderr whose reader is gone (EPIPE on a closed pipe)
 * is ignored: the message is lost, the process is not (an unheard 'error' of `process.stderr` was an
 * uncaught exception, turning a graceful stop on SIGTERM into a crash).
 */
export const sayOnStderr = (line: string): void => {
  // Not by `listenerCount`: a stream piped into stderr has a listener there that throws the error on.
  if (!stderrErrorsHeard) {
    stderrErrorsHeard = true
    process.stderr.on('error', () => {})
  }
  process.stderr.write(`qrelay: ${line}\n`)
}

/**
 * Installs the policy on this process: each uncaught exception or unhandled rejection is logged with
 * `logger` (error, `origin` saying which) and on stderr (one line, no details), then the process exits
 * {@link FAULT_EXIT_CODE}; the log lines still buffered are written on the way out.
 *
 * @example
 * exitOnUncaughtFaults(logger)
 */
export const exitOnUncaughtFaults = (logger: Logger): void => {
  process.on('uncaughtException', (error: unknown, origin: NodeJS.UncaughtExceptionOrigin) => {
    try {
      logger.error({ err: summarizeError(error), origin }, 'uncaught fault, exiting')
      sayOnStderr(`${origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'}, exiting`)
    } finally {
      process.exit(FAULT_EXIT_CODE)
    }
  })
}
