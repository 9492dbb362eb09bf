/**
 * A QR code read the way a camera would: from a screenshot of the page, decoded by jsQR (not from the
 * DOM). The PNG is decoded by a blank page of the same browser (no PNG decoder among the dependencies).
 */
import jsQR from 'jsqr'
import type { Browser, Page } from 'playwright-core'

/** The pixels of a PNG, decoded by a blank page of `browser` (no PNG decoder among the dependencies). */
const pixelsOf = async (browser: Browser, png: Buffer): Promise<{ data: Uint8ClampedArray; width: number; height: number }> => {
  const blank = await browser.newPage()
  try {
    const decoded = await blank.evaluate(async (base64) => {
      const img = new Image()
      img.src = `data:image/png;base64,${base64}`
      await img.decode()
      const canvas = document.createElement('canvas')
      canvas.width = img.naturalWidth
      canvas.height = img.naturalHeight
      const context = canvas.getContext('2d')
      if (context === null) throw new Error('no 2d canvas')
      context.drawImage(img, 0, 0)
      // RGBA bytes as base64: one string crosses to the test far faster than an array of numbers.
      const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data
      let binary = ''
      for (let i = 0; i < rgba.length; i += 0x8000) binary += String.fromCharCode(...rgba.subarray(i, i + 0x8000))
      return { rgba: btoa(binary), width: canvas.width, height: canvas.height }
    }, png.toString('base64'))
    return { data: new Uint8ClampedArray(Buffer.from(decoded.rgba, 'base64')), width: decoded.width, height: decoded.height }
  } finally {
    await blank.close()
  }
}

/** The text of the QR code on the page, read from a screenshot of it. */
export const readQrFromScreenshot = async (browser: Browser, page: Page): Promise<string> => {
  await page.waitForSelector('#qr:not([hidden])')
  const image = await pixelsOf(browser, await page.locator('#qr').screenshot())
  const found = jsQR(image.data, image.width, image.height)
  if (found === null) throw new Error('no QR code in the screenshot')
  return found.data
}
