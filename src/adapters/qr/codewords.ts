/**
 * The codewords of a QR Code symbol holding bytes in one byte-mode segment (ISO/IEC 18004 §7.4-§7.6):
 * what each version holds at each level, the data bits and their padding, and the Reed-Solomon error
 * codewords over GF(256), interleaved block by block. The layout of the symbol is `encode.ts`'s.
 */

// Per version 1-40, per level L, M, Q, H: error correction codewords per block, then the number of blocks.
const EC_PER_BLOCK = [
  [7, 10, 13, 17],
  [10, 16, 22, 28],
  [15, 26, 18, 22],
  [20, 18, 26, 16],
  [26, 24, 18, 22],
  [18, 16, 24, 28],
  [20, 18, 18, 26],
  [24, 22, 22, 26],
  [30, 22, 20, 24],
  [18, 26, 24, 28],
  [20, 30, 28, 24],
  [24, 22, 26, 28],
  [26, 22, 24, 22],
  [30, 24, 20, 24],
  [22, 24, 30, 24],
  [24, 28, 24, 30],
  [28, 28, 28, 28],
  [30, 26, 28, 28],
  [28, 26, 26, 26],
  [28, 26, 30, 28],
  [28, 26, 28, 30],
  [28, 28, 30, 24],
  [30, 28, 30, 30],
  [30, 28, 30, 30],
  [26, 28, 30, 30],
  [28, 28, 28, 30],
  [30, 28, 30, 30],
]
const BLOCKS = [
  [1, 1, 1, 1],
  [1, 1, 1, 1],
  [1, 1, 2, 2],
  [1, 2, 2, 4],
  [1, 2, 4, 4],
  [2, 4, 4, 4],
  [2, 4, 6, 5],
  [2, 4, 6, 6],
  [2, 5, 8, 8],
  [4, 5, 8, 8],
  [4, 5, 8, 11],
  [4, 8, 10, 11],
  [4, 9, 12, 16],
  [4, 9, 16, 16],
  [6, 10, 12, 18],
  [6, 10, 17, 16],
  [6, 11, 16, 19],
  [6, 13, 18, 21],
  [7, 14, 21, 25],
  [8, 16, 20, 25],
  [8, 17, 23, 25],
  [9, 17, 23, 34],
  [9, 18, 25, 30],
  [10, 20, 27, 32],
  [12, 21, 29, 35],
  [12, 23, 34, 37],
  [12, 25, 34, 40],
  [13, 26, 35, 42],
  [14, 28, 38, 45],
  [15, 29, 40, 48],
  [16, 31, 43, 51],
  [17, 33, 45, 54],
  [18, 35, 48, 57],
  [19, 37, 51, 60],
  [19, 38, 53, 63],
  [20, 40, 56, 66],
  [21, 43, 59, 70],
  [22, 45, 62, 74],
  [24, 47, 65, 77],
  [25, 49, 68, 81],
]
// From version 27 on, every version has the last row of EC_PER_BLOCK.
const ecPerBlock = (version: number, level: number): number =>
  (EC_PER_BLOCK[Math.min(version, EC_PER_BLOCK.length) - 1] as number[])[level] as number

/** Codewords of a version: its data modules (all but the function patterns) ÷ 8. */
const totalCodewords = (version: number): number => {
  let modules = (16 * version + 128) * version + 64
  if (version >= 2) {
    const align = Math.floor(version / 7) + 2
    modules -= (25 * align - 10) * align - 55
    if (version >= 7) modules -= 36
  }
  return Math.floor(modules / 8)
}

const blocksOf = (version: number, level: number): number => (BLOCKS[version - 1] as number[])[level] as number
const dataCodewords = (version: number, level: number): number =>
  totalCodewords(version) - blocksOf(version, level) * ecPerBlock(version, level)
/** Bits of the byte count in byte mode. */
const countBits = (version: number): number => (version < 10 ? 8 : 16)

// GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1.
const EXP = new Uint8Array(512)
const LOG = new Uint8Array(256)
for (let i = 0, x = 1; i < 255; i++, x = x & 0x80 ? ((x << 1) ^ 0x11d) & 0xff : x << 1) {
  EXP[i] = x
  LOG[x] = i
}
for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255] as number
const mul = (a: number, b: number): number => (a === 0 || b === 0 ? 0 : (EXP[(LOG[a] as number) + (LOG[b] as number)] as number))

/** The generator polynomial of `degree` error codewords, highest power first (its leading 1 left out). */
const generator = (degree: number): Uint8Array => {
  const poly = new Uint8Array(degree)
  poly[degree - 1] = 1
  for (let i = 0, root = 1; i < degree; i++, root = mul(root, 2)) {
    for (let j = 0; j < degree; j++) poly[j] = mul(poly[j] as number, root) ^ (j + 1 < degree ? (poly[j + 1] as number) : 0)
  }
  return poly
}

/** The remainder of `data` × x^degree divided by the generator: the block's error codewords. */
const errorCodewords = (data: Uint8Array, poly: Uint8Array): Uint8Array => {
  const out = new Uint8Array(poly.length)
  for (const byte of data) {
    const factor = byte ^ (out[0] as number)
    out.copyWithin(0, 1)
    out[out.length - 1] = 0
    for (let i = 0; i < poly.length; i++) out[i] = (out[i] as number) ^ mul(poly[i] as number, factor)
  }
  return out
}

/**
 * The codewords of `bytes` in `version` at `level`: mode, count, bytes, terminator and padding, cut
 * into blocks, each with its error codewords, interleaved (ISO/IEC 18004 §7.4-§7.6).
 */
export const codewords = (bytes: Uint8Array, version: number, level: number): Uint8Array => {
  const capacity = dataCodewords(version, level)
  const data = new Uint8Array(capacity)
  let bit = 0
  const put = (value: number, length: number): void => {
    for (let i = length - 1; i >= 0; i--, bit++) if ((value >>> i) & 1) data[bit >>> 3] = (data[bit >>> 3] as number) | (0x80 >>> (bit & 7))
  }
  put(0b0100, 4)
  put(bytes.length, countBits(version))
  for (const byte of bytes) put(byte, 8)
  if (bit + 4 <= capacity * 8) bit += 4
  for (let i = 0, at = (bit + 7) >>> 3; at < capacity; i++, at++) data[at] = i % 2 ? 0x11 : 0xec
  const blocks = blocksOf(version, level)
  const ecCount = ecPerBlock(version, level)
  const short = Math.floor(capacity / blocks)
  const shortBlocks = blocks - (totalCodewords(version) % blocks)
  const poly = generator(ecCount)
  const pieces: Uint8Array[] = []
  for (let b = 0, at = 0; b < blocks; b++) {
    const length = b < shortBlocks ? short : short + 1
    pieces.push(data.subarray(at, at + length))
    at += length
  }
  const ecs = pieces.map((piece) => errorCodewords(piece, poly))
  const out = new Uint8Array(totalCodewords(version))
  let index = 0
  for (let i = 0; i <= short; i++) for (const piece of pieces) if (i < piece.length) out[index++] = piece[i] as number
  for (let i = 0; i < ecCount; i++) for (const ec of ecs) out[index++] = ec[i] as number
  return out
}

/**
 * The smallest version (1-40) holding `length` bytes at `level` (0-3: L, M, Q, H); 41 when none does.
 *
 * @example
 * versionFor(100, 2) // 7
 */
export const versionFor = (length: number, level: number): number => {
  let version = 1
  while (version <= 40 && length > Math.floor((dataCodewords(version, level) * 8 - 4 - countBits(version)) / 8)) version++
  return version
}
