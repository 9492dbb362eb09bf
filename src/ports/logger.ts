/** Structured logger. Fields must never hold bearer values: log {@link Redactor} output instead. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger
}
