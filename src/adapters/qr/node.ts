/**
 * QR rendering that needs Node: PNG (qrcode draws it with pngjs, which uses zlib) and text for a
 * terminal. Like ./svg.ts, the payload is one byte-mode segment, never re-encoded as text.
 * On Workers use ./svg.ts.
 */
import { toBuffer, toString as toText } from 'qrcode'
import { RelayError } from '../../core/errors.ts'
import type { QrErrorCorrection } from './svg.ts'

/** Options of {@link renderQrPng}. */
export interface QrPngOptions {
  /** Default `Q`, as in the MSC examples. */
  errorCorrection?: QrErrorCorrection
  /** Light border in modules. Default 4 (the ISO/IEC 18004 minimum). */
  marginModules?: number
  /** Pixels per module. Default 8. */
  moduleSizePx?: number
}

/** Options of {@link renderQrTerminal}. */
export interface QrTerminalOptions {
  /** Default `Q`. */
  errorCorrection?: QrErrorCorrection
  /**
   * Default true: ANSI colours force dark-on-light, which phones need to scan a code shown by a terminal
   * with a dark theme. False: plain half-block characters, dark on the terminal's own background.
   */
  ansi?: boolean
}

const segmentsOf = (bytes: Uint8Array) => {
  if (bytes.length === 0) throw new RelayError('INVALID_PARAM', { detail: 'nothing to put in a QR code' })
  return [{ data: bytes, mode: 'byte' as const }]
}

const tooLarge = (cause: unknown): RelayError => new RelayError('PAYLOAD_TOO_LARGE', { detail: 'too much data for a QR code', cause })

/**
 * Renders `bytes` as a QR code in a PNG image.
 * Throws RelayError INVALID_PARAM for empty input or bad options, PAYLOAD_TOO_LARGE when it does not fit.
 *
 * @example
 * await writeFile('login.png', await renderQrPng(payload))
 */
export const renderQrPng = async (bytes: Uint8Array, options: QrPngOptions = {}): Promise<Uint8Array> => {
  const { errorCorrection = 'Q', marginModules = 4, moduleSizePx = 8 } = options
  if (!Number.isInteger(marginModules) || marginModules < 0 || marginModules > 64) {
    throw new RelayError('INVALID_PARAM', { detail: 'marginModules must be a whole number from 0 to 64' })
  }
  if (!Number.isInteger(moduleSizePx) || moduleSizePx < 1 || moduleSizePx > 100) {
    throw new RelayError('INVALID_PARAM', { detail: 'moduleSizePx must be a whole number from 1 to 100' })
  }
  const segments = segmentsOf(bytes)
  try {
    // A Buffer, which is a Uint8Array: callers on Node may use it as either.
    return await toBuffer(segments, { type: 'png', errorCorrectionLevel: errorCorrection, margin: marginModules, scale: moduleSizePx })
  } catch (cause) {
    throw tooLarge(cause)
  }
}

/**
 * Renders `bytes` as a QR code made of half-block characters (two module rows per text line), for a
 * terminal. Throws like {@link renderQrPng}.
 *
 * @example
 * process.stdout.write(await renderQrTerminal(payload))
 */
export const renderQrTerminal = async (bytes: Uint8Array, options: QrTerminalOptions = {}): Promise<string> => {
  const { errorCorrection = 'Q', ansi = true } = options
  const segments = segmentsOf(bytes)
  try {
    return ansi
      ? await toText(segments, { type: 'terminal', small: true, errorCorrectionLevel: errorCorrection })
      : await toText(segments, { type: 'utf8', errorCorrectionLevel: errorCorrection, margin: 2 })
  } catch (cause) {
    throw tooLarge(cause)
  }
}
