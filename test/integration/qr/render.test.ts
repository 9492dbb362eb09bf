/**
 * The QR renderers, checked by reading their output back with a real QR decoder (jsqr): PNG pixels,
 * SVG modules (rasterized from the path) and plain terminal text all decode to the same BYTES we put
 * in, including bytes ≥ 0x80 that a text (UTF-8) segment would have re-encoded.
 */
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import jsQRModule from 'jsqr'
import { hex } from '@scure/base'
import { qrMatrix, renderQrSvg } from '../../../src/adapters/qr/svg.ts'
import { renderQrPng, renderQrTerminal } from '../../../src/adapters/qr/node.ts'
import { encodeChannelLink } from '../../../src/core/channel/qr-link.ts'
import vectors from '../../vectors/qr-payloads.json' with { type: 'json' }

// jsqr ships a UMD bundle: depending on the loader the function is the module or its default.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as typeof jsQRModule

// pngjs is qrcode's own PNG dependency (not ours): resolve it from qrcode so hoisting does not matter.
const requireFromQrcode = createRequire(createRequire(import.meta.url).resolve('qrcode'))
const { PNG } = requireFromQrcode('pngjs') as {
  PNG: { sync: { read(data: Uint8Array): { width: number; height: number; data: Uint8Array } } }
}

const readPng = (png: Uint8Array) => PNG.sync.read(Buffer.from(png.buffer, png.byteOffset, png.byteLength))

/** Grey pixels: dark modules 0, light 255, `scale` pixels per module, RGBA as jsqr wants. */
const rasterize = (dark: (row: number, col: number) => boolean, modules: number, scale = 4) => {
  const side = modules * scale
  const rgba = new Uint8ClampedArray(side * side * 4).fill(255)
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      if (!dark(Math.floor(y / scale), Math.floor(x / scale))) continue
      const at = (y * side + x) * 4
      rgba[at] = rgba[at + 1] = rgba[at + 2] = 0
    }
  }
  return { rgba, side }
}

const readBack = (rgba: Uint8ClampedArray, width: number, height: number): Uint8Array | null => {
  const code = jsQR(rgba, width, height, { inversionAttempts: 'dontInvert' })
  return code === null ? null : Uint8Array.from(code.binaryData)
}

/** The dark modules an SVG path of `M x y h w v1 h-w z` rectangles paints, on a `side` × `side` grid. */
const modulesOfSvg = (svg: string, side: number): boolean[][] => {
  const grid = Array.from({ length: side }, () => Array<boolean>(side).fill(false))
  const d = /<path fill="#000000" d="([^"]*)"\/>/.exec(svg)?.[1] ?? ''
  for (const [, x, y, w] of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-\3z/g)) {
    for (let i = 0; i < Number(w); i++) (grid[Number(y)] as boolean[])[Number(x) + i] = true
  }
  return grid
}

const PAYLOADS: [string, Uint8Array][] = [
  ...vectors.cases.slice(0, 3).map((c): [string, Uint8Array] => [c.name, hex.decode(c.hex)]),
  ['every byte value', Uint8Array.from({ length: 256 }, (_, i) => i)],
  [
    'a channel link',
    new TextEncoder().encode(
      (
        encodeChannelLink('https://relay.example', {
          intent: 'login',
          publicKey: new Uint8Array(32).fill(0xd8),
          channelId: 'Hq3x_9-kLmN0pQrStUvWxY',
          ticket: `${'a'.repeat(60)}.${'b'.repeat(150)}.${'c'.repeat(86)}`,
        }) as { value: string }
      ).value,
    ),
  ],
]

describe('renderQrPng', () => {
  it.each(PAYLOADS)('draws a PNG that decodes to the same bytes: %s', async (_, bytes) => {
    const png = readPng(await renderQrPng(bytes))
    expect(readBack(new Uint8ClampedArray(png.data), png.width, png.height)).toEqual(bytes)
  })

  it('sizes the image from the module size and margin', async () => {
    const bytes = PAYLOADS[0]![1]
    const { size } = qrMatrix(bytes)
    const png = readPng(await renderQrPng(bytes, { moduleSizePx: 3, marginModules: 2 }))
    expect(png.width).toBe((size + 4) * 3)
  })

  it('refuses a payload no QR code can hold', async () => {
    await expect(renderQrPng(new Uint8Array(3000))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
    await expect(renderQrPng(new Uint8Array(0))).rejects.toMatchObject({ code: 'INVALID_PARAM' })
  })
})

describe('renderQrSvg', () => {
  it.each(PAYLOADS)('paints every module, and the modules decode to the same bytes: %s', (_, bytes) => {
    const matrix = qrMatrix(bytes)
    const side = matrix.size + 8
    const svg = renderQrSvg(bytes)
    const grid = modulesOfSvg(svg, side)
    for (let row = 0; row < side; row++) {
      for (let col = 0; col < side; col++) {
        const inside = row >= 4 && col >= 4 && row < matrix.size + 4 && col < matrix.size + 4
        expect(grid[row]![col], `module ${row},${col}`).toBe(inside && matrix.isDark(row - 4, col - 4))
      }
    }
    const { rgba, side: px } = rasterize((r, c) => grid[r]![c]!, side)
    expect(readBack(rgba, px, px)).toEqual(bytes)
  })

  it('uses error correction Q and byte mode by default', () => {
    // 111 bytes in byte mode (ISO/IEC 18004 table 7): Q holds 108 in version 8 and 130 in version 9;
    // L holds 106 in version 5 and 134 in version 6.
    expect(qrMatrix(PAYLOADS[0]![1]).version).toBe(9)
    expect(qrMatrix(PAYLOADS[0]![1], 'L').version).toBe(6)
  })

  it('is a well-formed SVG document with a square viewBox and an escaped title', () => {
    const bytes = PAYLOADS[0]![1]
    const side = qrMatrix(bytes).size + 8
    const svg = renderQrSvg(bytes, { title: 'Scan <me> & "sign in"', moduleSizePx: 5 })
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" [^<>]*>.*<\/svg>$/s)
    expect(svg).toContain(`viewBox="0 0 ${side} ${side}"`)
    expect(svg).toContain(`width="${side * 5}" height="${side * 5}"`)
    expect(svg).toContain('<title>Scan &lt;me&gt; &amp; &quot;sign in&quot;</title>')
    // Every tag opened is closed: <svg>…</svg>, <title>…</title>, and the self-closed rect and path.
    const tags = [...svg.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)].map(([, close, name, self]) => `${close}${name}${self}`)
    expect(tags).toEqual(['svg', 'title', '/title', 'rect/', 'path/', '/svg'])
  })

  it.each([
    ['a colour that is not hex', { dark: 'red" onload="x' }],
    ['a negative margin', { marginModules: -1 }],
    ['a fractional module size', { moduleSizePx: 1.5 }],
  ])('refuses %s', (_, options) => {
    expect(() => renderQrSvg(PAYLOADS[0]![1], options)).toThrow(expect.objectContaining({ code: 'INVALID_PARAM' }))
  })

  it('refuses a payload no QR code can hold', () => {
    expect(() => renderQrSvg(new Uint8Array(3000))).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }))
  })
})

describe('renderQrTerminal', () => {
  it('prints ANSI half blocks, two module rows per line', async () => {
    const bytes = PAYLOADS[0]![1]
    const text = await renderQrTerminal(bytes)
    const { size } = qrMatrix(bytes)
    expect(text.length).toBeGreaterThan(0)
    expect(text).toContain('\x1b[')
    expect(text.trimEnd().split('\n').length).toBeGreaterThanOrEqual(Math.ceil(size / 2))
  })

  it.each(PAYLOADS)('prints plain text blocks that decode to the same bytes: %s', async (_, bytes) => {
    const lines = (await renderQrTerminal(bytes, { ansi: false })).split('\n').filter((l) => l.length > 0)
    // Each character is two modules stacked: upper and lower half.
    const halves: Record<string, [boolean, boolean]> = { ' ': [false, false], '▀': [true, false], '▄': [false, true], '█': [true, true] }
    const rows = lines.flatMap((line) => {
      const cells = [...line].map((ch) => halves[ch] ?? [false, false])
      return [cells.map((c) => c[0]), cells.map((c) => c[1])]
    })
    const side = rows[0]!.length
    const { rgba, side: px } = rasterize((r, c) => rows[r]?.[c] ?? false, Math.max(side, rows.length))
    expect(readBack(rgba, px, px)).toEqual(bytes)
  })
})
