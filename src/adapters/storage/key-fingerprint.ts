/**
 * The fingerprint of a counter key (`counter-table.ts` holds keys only as this): three polynomial
 * hashes of its UTF-16 code units, each modulo a prime below 2²⁶ at a base drawn at random per
 * fingerprinter. Two distinct keys of at most L code units share a fingerprint with probability at
 * most (L / 2²⁶)³ (≈ 2·10⁻¹⁹ for 40 units): the bases are never shown, so nobody can choose keys that
 * collide.
 */

/** The three primes (largest below 2²⁶): a hash times a base stays below 2⁵², exact in a double. */
const PRIMES = [67_108_859, 67_108_837, 67_108_819] as const
const [P0, P1, P2] = PRIMES

/**
 * `x mod p` for 0 ≤ x < 2⁵³ and p < 2²⁶, without `%` (a floating-point remainder is a slow library
 * call): the quotient's rounding is off by at most one, and every product here is exact.
 */
const reduce = (x: number, p: number): number => {
  const r = x - Math.floor(x / p) * p
  return r < 0 ? r + p : r >= p ? r - p : r
}

/** `base^n mod p` (base < p < 2²⁶: each product stays exact). */
const powMod = (base: number, n: number, p: number): number => {
  let r = 1
  for (let i = 0; i < n; i++) r = reduce(r * base, p)
  return r
}

/** Windows whose suffix is kept (a power of two): a rule's current and previous, for a few rules. */
const WINDOW_SLOTS = 8

/** A key whose windows are counted often, hashed once ({@link KeyFingerprint.prepare}): the fingerprint of `${key}:`. */
export interface PreparedKey {
  readonly h0: number
  readonly h1: number
  readonly h2: number
}

/**
 * The fingerprint of the last key hashed, (h0, h1, h2): one register, no allocation per key. A key's
 * window `w` is the key `${key}:${w}`, hashed without building it; the fingerprint of the last
 * `${key}:` is kept (the next call is often its neighbour window), and a prepared key skips the key.
 */
export class KeyFingerprint {
  h0 = 0
  h1 = 0
  h2 = 0
  private readonly b0: number
  private readonly b1: number
  private readonly b2: number
  // The fingerprint of the last `${key}:` a window was asked of.
  private prefixKey: string | undefined = undefined
  private prefix0 = 0
  private prefix1 = 0
  private prefix2 = 0

  // The suffixes `${w}` of recent windows, by `w & 7`: w, then per prime the base to the suffix's
  // length and the suffix's own hash, so that extending by it is one step, not one per digit.
  private readonly windows = new Float64Array(WINDOW_SLOTS).fill(Number.NaN)
  private readonly suffixes = new Float64Array(6 * WINDOW_SLOTS)

  constructor() {
    const words = globalThis.crypto.getRandomValues(new Uint32Array(3))
    this.b0 = (words[0] as number) % P0
    this.b1 = (words[1] as number) % P1
    this.b2 = (words[2] as number) % P2
  }

  /** Sets the register. */
  set(a: number, b: number, c: number): void {
    this.h0 = a
    this.h1 = b
    this.h2 = c
  }

  /**
   * Sets the register to the fingerprint of `key`, or of `${key}:${window}`. A prepared key is its
   * `${key}:` (without a window, that key itself).
   */
  hash(key: string | PreparedKey, window: number | undefined): void {
    if (typeof key !== 'string') {
      this.set(key.h0, key.h1, key.h2)
      if (window === undefined) return
    } else if (window !== undefined && key === this.prefixKey) this.set(this.prefix0, this.prefix1, this.prefix2)
    else {
      this.set(0, 0, 0)
      this.extend(key)
      if (window === undefined) return
      this.extend(':')
      this.prefixKey = key
      this.prefix0 = this.h0
      this.prefix1 = this.h1
      this.prefix2 = this.h2
    }
    this.extendWindow(window)
  }

  /** Extends the register with `${window}`: h·b^len + hash(`${window}`) for each prime, as `extend` would. */
  private extendWindow(window: number): void {
    const slot = window & (WINDOW_SLOTS - 1)
    const at = 6 * slot
    const suffixes = this.suffixes
    if (this.windows[slot] !== window) {
      const { h0, h1, h2 } = this
      const text = String(window)
      this.set(0, 0, 0)
      this.extend(text)
      suffixes[at] = powMod(this.b0, text.length, P0)
      suffixes[at + 1] = powMod(this.b1, text.length, P1)
      suffixes[at + 2] = powMod(this.b2, text.length, P2)
      suffixes[at + 3] = this.h0
      suffixes[at + 4] = this.h1
      suffixes[at + 5] = this.h2
      this.windows[slot] = window
      this.set(h0, h1, h2)
    }
    this.set(
      reduce(this.h0 * (suffixes[at] as number) + (suffixes[at + 3] as number), P0),
      reduce(this.h1 * (suffixes[at + 1] as number) + (suffixes[at + 4] as number), P1),
      reduce(this.h2 * (suffixes[at + 2] as number) + (suffixes[at + 5] as number), P2),
    )
  }

  /** `key` hashed once, for {@link hash} with a window (the register is left at `${key}:`). */
  prepare(key: string): PreparedKey {
    this.set(0, 0, 0)
    this.extend(key)
    this.extend(':')
    return { h0: this.h0, h1: this.h1, h2: this.h2 }
  }

  /** Extends the register with the code units of `text`. */
  private extend(text: string): void {
    const { b0, b1, b2 } = this
    let { h0, h1, h2 } = this
    for (let i = 0; i < text.length; i++) {
      // Coefficients 1..65536: never 0, so keys of different lengths are different polynomials.
      const c = text.charCodeAt(i) + 1
      h0 = reduce(h0 * b0 + c, P0)
      h1 = reduce(h1 * b1 + c, P1)
      h2 = reduce(h2 * b2 + c, P2)
    }
    this.set(h0, h1, h2)
  }
}
