/**
 * A QR Code symbol (ISO/IEC 18004) of bytes in one byte-mode segment, written here because that is
 * all qrrelay encodes: the smallest version that holds them at the level, Reed-Solomon codewords over
 * GF(256), the function patterns, and the mask with the lowest penalty. It makes the symbol the
 * `qrcode` package makes of the same segment, module for module, mask for mask (the penalty is
 * counted as it counts it), without the package's text segmentation, Kanji tables and renderers,
 * which the Worker does not need (`test/unit/adapters/qr-encode.test.ts` compares the two).
 *
 * @see https://www.iso.org/standard/62021.html (ISO/IEC 18004:2015)
 */

import { codewords, versionFor } from './codewords.ts'

/** QR error correction level: L 7 %, M 15 %, Q 25 %, H 30 % of the symbol may be damaged. */
export type QrErrorCorrection = 'L' | 'M' | 'Q' | 'H'

/** A symbol: `size` × `size` modules, row by row, 1 for dark. */
export interface QrSymbol {
  version: number
  size: number
  modules: Uint8Array
}

const LEVELS = ['L', 'M', 'Q', 'H'] as const
/** The two format bits of each level, in {@link LEVELS} order. */
const LEVEL_BITS = [1, 0, 3, 2]

/** The BCH code of `value` (its bits shifted left by the generator's degree) under `poly`. */
const bch = (value: number, poly: number, degree: number): number => {
  let rest = value << degree
  for (let top = 31 - Math.clz32(poly); 31 - Math.clz32(rest) >= top; ) rest ^= poly << (31 - Math.clz32(rest) - top)
  return (value << degree) | rest
}

/** Centres of the alignment patterns along one axis. */
const alignmentCentres = (version: number, size: number): number[] => {
  if (version === 1) return []
  const count = Math.floor(version / 7) + 2
  const step = size === 145 ? 26 : Math.ceil((size - 13) / (2 * count - 2)) * 2
  const centres = [size - 7]
  for (let i = 1; i < count - 1; i++) centres.push((centres[i - 1] as number) - step)
  centres.push(6)
  return centres.reverse()
}

const MASKS: ((i: number, j: number) => boolean)[] = [
  (i, j) => (i + j) % 2 === 0,
  (i) => i % 2 === 0,
  (_, j) => j % 3 === 0,
  (i, j) => (i + j) % 3 === 0,
  (i, j) => (Math.floor(i / 2) + Math.floor(j / 3)) % 2 === 0,
  (i, j) => ((i * j) % 2) + ((i * j) % 3) === 0,
  (i, j) => (((i * j) % 2) + ((i * j) % 3)) % 2 === 0,
  (i, j) => (((i * j) % 3) + ((i + j) % 2)) % 2 === 0,
]

/** The penalty of a masked symbol (ISO/IEC 18004 §7.8.3), counted as the `qrcode` package counts it. */
const penalty = (m: Uint8Array, size: number): number => {
  let points = 0
  let dark = 0
  for (let a = 0; a < size; a++) {
    // Runs of five or more (N1) and 1:1:3:1:1 patterns with four light modules on a side (N3), along row a and column a.
    for (const [start, stride] of [
      [a * size, 1],
      [a, size],
    ] as const) {
      let run = 0
      let last = -1
      let window = 0
      for (let b = 0, i = start; b < size; b++, i += stride) {
        const module = m[i] as number
        if (module === last) run++
        else {
          if (run >= 5) points += run - 2
          last = module
          run = 1
        }
        window = ((window << 1) & 0x7ff) | module
        if (b >= 10 && (window === 0x5d0 || window === 0x05d)) points += 40
      }
      if (run >= 5) points += run - 2
    }
    for (let b = 0; b < size; b++) {
      dark += m[a * size + b] as number
      // 2×2 blocks of one colour (N2).
      if (a < size - 1 && b < size - 1) {
        const sum =
          (m[a * size + b] as number) +
          (m[a * size + b + 1] as number) +
          (m[(a + 1) * size + b] as number) +
          (m[(a + 1) * size + b + 1] as number)
        if (sum === 0 || sum === 4) points += 3
      }
    }
  }
  // The share of dark modules away from half (N4).
  return points + Math.abs(Math.ceil((dark * 100) / (size * size) / 5) - 10) * 10
}

/** The symbol being built: its modules, and which of them belong to a function pattern (never masked). */
interface Grid {
  size: number
  modules: Uint8Array
  reserved: Uint8Array
}

/** Sets a function module: dark or light, and reserved. */
const setFunction = (grid: Grid, row: number, col: number, dark: boolean | number): void => {
  grid.modules[row * grid.size + col] = dark ? 1 : 0
  grid.reserved[row * grid.size + col] = 1
}

/** The finder patterns with their separators, the timing patterns and the alignment patterns. */
const drawPatterns = (grid: Grid, version: number): void => {
  const { size } = grid
  for (const [row, col] of [
    [0, 0],
    [size - 7, 0],
    [0, size - 7],
  ] as const) {
    for (let r = -1; r <= 7; r++) {
      for (let c = -1; c <= 7; c++) {
        if (row + r < 0 || row + r >= size || col + c < 0 || col + c >= size) continue
        const ring = Math.max(Math.abs(r - 3), Math.abs(c - 3))
        setFunction(grid, row + r, col + c, ring !== 2 && ring !== 4)
      }
    }
  }
  for (let i = 8; i < size - 8; i++) {
    setFunction(grid, i, 6, i % 2 === 0)
    setFunction(grid, 6, i, i % 2 === 0)
  }
  const centres = alignmentCentres(version, size)
  for (const row of centres) {
    for (const col of centres) {
      if ((row === 6 && col === 6) || (row === 6 && col === size - 7) || (row === size - 7 && col === 6)) continue
      for (let r = -2; r <= 2; r++)
        for (let c = -2; c <= 2; c++) setFunction(grid, row + r, col + c, Math.max(Math.abs(r), Math.abs(c)) !== 1)
    }
  }
}

/** The format information of `level` and `mask` (both copies) and the dark module. */
const drawFormat = (grid: Grid, level: number, mask: number): void => {
  const { size } = grid
  const bits = bch((LEVEL_BITS[level] as number) * 8 + mask, 0x537, 10) ^ 0x5412
  for (let i = 0; i < 15; i++) {
    const dark = (bits >> i) & 1
    setFunction(grid, i < 6 ? i : i < 8 ? i + 1 : size - 15 + i, 8, dark)
    setFunction(grid, 8, i < 8 ? size - i - 1 : i < 9 ? 7 : 14 - i, dark)
  }
  setFunction(grid, size - 8, 8, 1)
}

/** The version information (versions 7 and up), both copies. */
const drawVersion = (grid: Grid, version: number): void => {
  const bits = bch(version, 0x1f25, 12)
  for (let i = 0; i < 18; i++) {
    setFunction(grid, Math.floor(i / 3), (i % 3) + grid.size - 11, (bits >> i) & 1)
    setFunction(grid, (i % 3) + grid.size - 11, Math.floor(i / 3), (bits >> i) & 1)
  }
}

/** The codewords' bits in the zigzag of two-module columns, from the bottom right; left-over modules light. */
const placeData = (grid: Grid, data: Uint8Array): void => {
  const { size, modules, reserved } = grid
  let index = 0
  for (let col = size - 1, upward = true; col > 0; col -= 2, upward = !upward) {
    if (col === 6) col--
    for (let step = 0; step < size; step++) {
      const row = upward ? size - 1 - step : step
      for (const c of [col, col - 1]) {
        if (reserved[row * size + c]) continue
        modules[row * size + c] = index < data.length * 8 ? ((data[index >>> 3] as number) >>> (7 - (index & 7))) & 1 : 0
        index++
      }
    }
  }
}

/** Flips the data modules where `mask` says so (applied twice, it undoes itself). */
const applyMask = (grid: Grid, mask: number): void => {
  const at = MASKS[mask] as (i: number, j: number) => boolean
  const { size, modules, reserved } = grid
  for (let row = 0, i = 0; row < size; row++) {
    for (let col = 0; col < size; col++, i++) if (!reserved[i] && at(row, col)) modules[i] = (modules[i] as number) ^ 1
  }
}

/** The mask with the lowest penalty, the first of equals, each tried with its own format information. */
const bestMask = (grid: Grid, level: number): number => {
  let best = 0
  let lowest = Number.POSITIVE_INFINITY
  for (let mask = 0; mask < 8; mask++) {
    drawFormat(grid, level, mask)
    applyMask(grid, mask)
    const points = penalty(grid.modules, grid.size)
    applyMask(grid, mask)
    if (points < lowest) {
      lowest = points
      best = mask
    }
  }
  return best
}

/**
 * The symbol of `bytes` as one byte-mode segment at `errorCorrection`, in the smallest version that
 * holds them; null when no version does.
 *
 * @example
 * encodeQr(new TextEncoder().encode('otpauth://totp/…'), 'M')?.size // 33 for version 4
 */
export const encodeQr = (bytes: Uint8Array, errorCorrection: QrErrorCorrection): QrSymbol | null => {
  // A level that is none of the four is M, as the package reads one it does not know.
  const known = LEVELS.indexOf(errorCorrection)
  const level = known === -1 ? 1 : known
  const version = versionFor(bytes.length, level)
  if (version > 40) return null
  const size = version * 4 + 17
  const grid: Grid = { size, modules: new Uint8Array(size * size), reserved: new Uint8Array(size * size) }
  drawPatterns(grid, version)
  drawFormat(grid, level, 0)
  if (version >= 7) drawVersion(grid, version)
  placeData(grid, codewords(bytes, version, level))
  const mask = bestMask(grid, level)
  applyMask(grid, mask)
  drawFormat(grid, level, mask)
  return { version, size, modules: grid.modules }
}
