/** Wall-clock milliseconds since the epoch. Only `src/runtime/*` builds the real one. */
export interface Clock {
  now(): number
}

/** A source of cryptographically strong random bytes. Only `src/runtime/*` builds the real one. */
export interface Random {
  bytes(length: number): Uint8Array
}
