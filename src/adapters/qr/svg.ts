/**
 * QR rendering to SVG, runtime-neutral (Node, Workers, browsers): the payload goes in as ONE byte-mode
 * segment, so binary payloads are written as they are and never re-encoded as UTF-8 text.
 * Error correction defaults to Q, as in the MSC examples (`qrencode -8 -l Q`).
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/blob/726e1154/proposals/4388-secure-qr-channel.md#qr-code-format
 */
import { RelayError } from '../../core/errors.ts'
import { encodeQr, type QrErrorCorrection } from './encode.ts'

export type { QrErrorCorrection } from './encode.ts'

/** A QR symbol as a grid of modules. */
export interface QrMatrix {
  /** Modules per side (21 for version 1, +4 per version). */
  size: number
  /** QR version, 1 to 40. */
  version: number
  /** True for a dark module. */
  isDark(row: number, col: number): boolean
}

/**
 * The QR symbol for `bytes` in byte mode. Throws RelayError PAYLOAD_TOO_LARGE when the bytes do not
 * fit a version-40 symbol at this level (2 331 bytes at Q).
 *
 * @example
 * const { size } = qrMatrix(payload) // 'Q' by default
 */
export const qrMatrix = (bytes: Uint8Array, errorCorrection: QrErrorCorrection = 'Q'): QrMatrix => {
  if (bytes.length === 0) throw new RelayError('INVALID_PARAM', { detail: 'nothing to put in a QR code' })
  const symbol = encodeQr(bytes, errorCorrection)
  if (symbol === null) throw new RelayError('PAYLOAD_TOO_LARGE', { detail: 'too much data for a QR code' })
  const { size, modules } = symbol
  return { size, version: symbol.version, isDark: (row, col) => modules[row * size + col] === 1 }
}

/** Options of {@link renderQrSvg}. */
export interface QrSvgOptions {
  /** Default `Q`. */
  errorCorrection?: QrErrorCorrection
  /** Light border in modules; 4 is the minimum ISO/IEC 18004 asks for. Default 4. */
  marginModules?: number
  /** When set, the SVG gets width/height of (modules + 2 × margin) × this many px; else it scales. */
  moduleSizePx?: number
  /** Hex colour of dark modules. Default `#000000`. */
  dark?: string
  /** Hex colour of the background. Default `#ffffff`. */
  light?: string
  /** Accessible name (`<title>`), escaped. */
  title?: string
}

const HEX_COLOUR = /^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/
const escapeXml = (text: string): string =>
  text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string)

/** One path: a rectangle per horizontal run of dark modules. */
const modulesPath = (matrix: QrMatrix, margin: number): string => {
  let d = ''
  for (let row = 0; row < matrix.size; row++) {
    let col = 0
    while (col < matrix.size) {
      if (!matrix.isDark(row, col)) {
        col++
        continue
      }
      const start = col
      while (col < matrix.size && matrix.isDark(row, col)) col++
      d += `M${start + margin} ${row + margin}h${col - start}v1h-${col - start}z`
    }
  }
  return d
}

/**
 * Renders `bytes` as a QR code in an SVG document (a string; serve it as `image/svg+xml`).
 * Throws RelayError INVALID_PARAM for bad options, PAYLOAD_TOO_LARGE when the bytes do not fit.
 *
 * @example
 * const svg = renderQrSvg(encoded.value, { title: 'Scan to sign in' })
 * return c.body(svg, 200, { 'Content-Type': 'image/svg+xml' })
 */
export const renderQrSvg = (bytes: Uint8Array, options: QrSvgOptions = {}): string => {
  const { marginModules = 4, dark = '#000000', light = '#ffffff' } = options
  if (!Number.isInteger(marginModules) || marginModules < 0 || marginModules > 64) {
    throw new RelayError('INVALID_PARAM', { detail: 'marginModules must be a whole number from 0 to 64' })
  }
  if (!HEX_COLOUR.test(dark) || !HEX_COLOUR.test(light)) throw new RelayError('INVALID_PARAM', { detail: 'colours must be #hex' })
  const px = options.moduleSizePx
  if (px !== undefined && !(Number.isInteger(px) && px >= 1 && px <= 100)) {
    throw new RelayError('INVALID_PARAM', { detail: 'moduleSizePx must be a whole number from 1 to 100' })
  }
  const matrix = qrMatrix(bytes, options.errorCorrection)
  const side = matrix.size + 2 * marginModules
  const dimensions = px === undefined ? '' : ` width="${side * px}" height="${side * px}"`
  const title = options.title === undefined ? '' : `<title>${escapeXml(options.title)}</title>`
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${side} ${side}"${dimensions} shape-rendering="crispEdges" role="img">` +
    `${title}<rect width="${side}" height="${side}" fill="${light}"/>` +
    `<path fill="${dark}" d="${modulesPath(matrix, marginModules)}"/></svg>`
  )
}
