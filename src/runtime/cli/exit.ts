/** Ends a CLI command with an exit code (0 done, 1 refused, 2 usage or configuration) and a message. */
export class CliExit extends Error {
  readonly code: number
  constructor(code: number, message: string) {
    super(message)
    this.name = 'CliExit'
    this.code = code
  }
}
