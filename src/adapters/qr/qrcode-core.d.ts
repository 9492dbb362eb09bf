// The runtime-neutral core of qrcode 1.5.4 (no fs, zlib or canvas), imported directly so that bundles
// for Workers and browsers do not pull in the Node renderers. @types/qrcode describes the package root only.
declare module 'qrcode/lib/core/qrcode.js' {
  import type { QRCode, QRCodeOptions, QRCodeSegment } from 'qrcode'
  export function create(data: string | QRCodeSegment[], options?: QRCodeOptions): QRCode
}
