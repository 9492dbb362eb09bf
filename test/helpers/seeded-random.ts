import { sha256 } from '@noble/hashes/sha2.js'
import type { Random } from '../../src/ports.ts'

/** Deterministic random bytes: SHA-256(seed ‖ counter) blocks. Same seed, same sequence. */
export const seededRandom = (seed: number | string = 42): Random => {
  const prefix = new TextEncoder().encode(`qrelay-test-seed:${seed}:`)
  let counter = 0
  let pool = new Uint8Array(0)
  return {
    bytes(length) {
      while (pool.length < length) {
        const block = sha256(new Uint8Array([...prefix, ...new TextEncoder().encode(String(counter++))]))
        const next = new Uint8Array(pool.length + block.length)
        next.set(pool)
        next.set(block, pool.length)
        pool = next
      }
      const out = pool.slice(0, length)
      pool = pool.slice(length)
      return out
    },
  }
}
