/**
 * `/login` in the browser: the new device's side of a QR login (login intent). Creates a channel,
 * shows its QR code, waits for the signed-in device to scan it, takes the check code that device
 * shows, then signs in with a fresh non-extractable DPoP key (WebCrypto), hands the session over to
 * the HttpOnly page cookies (`POST /login/session`) and goes to `/account`.
 * An expired QR code is replaced without a reload (a bounded number of times).
 *
 * @see ../../../docs/pages.md
 */
import { NewDevice } from '../devices.ts'
import { isClientError } from '../errors.ts'
import type { QrDisplay } from '../qr-display.ts'
import { signIn } from '../sign-in.ts'
import { openAccountAs } from './page-handoff.ts'
import { byId, format, type Messages, nextSubmit, say, show } from './dom.ts'
import { pageTransport } from './page-transport.ts'

/** How many QR codes one visit shows before asking for a reload. */
const MAX_CODES = 10

const showCode = (messages: Messages, shown: QrDisplay): void => {
  const img = byId<HTMLImageElement>('qr')
  // Error correction M: a screen is not a printed sticker, and a less dense code scans from further away.
  img.src = `data:image/svg+xml,${encodeURIComponent(shown.qrSvg({ errorCorrection: 'M' }))}`
  byId<HTMLInputElement>('link-text').value = shown.qrLink
  show('qr', true)
  say('status', format(messages, 'loginWaiting'))
}

/** Asks for the check code until it is two digits; false when it did not match (the channel is gone). */
const confirmCode = async (messages: Messages, shown: QrDisplay): Promise<boolean> => {
  show('qr', false)
  show('cant-scan', false)
  say('status', format(messages, 'loginScanned'))
  show('check-form', true)
  byId<HTMLInputElement>('check-code').focus()
  for (let tries = 0; tries < 20; tries++) {
    const typed = String((await nextSubmit('check-form')).get('check_code') ?? '').trim()
    try {
      await shown.confirmCheckCode(typed)
      show('check-form', false)
      return true
    } catch (error) {
      if (isClientError(error, 'INVALID_CHECK_CODE')) {
        say('check-problem', format(messages, 'checkCodeFormat'))
        continue
      }
      show('check-form', false)
      if (isClientError(error, 'CHECK_CODE_MISMATCH')) return false
      throw error
    }
  }
  return false
}

/** Runs the page until signed in, refused, or out of QR codes. */
export const runLoginPage = async (messages: Messages): Promise<void> => {
  const baseUrl = location.origin
  show('login-app', true)
  byId('restart').addEventListener('click', () => location.reload())
  for (let code = 0; code < MAX_CODES; code++) {
    const shown = await NewDevice.showQr({ baseUrl, transport: pageTransport() })
    showCode(messages, shown)
    try {
      await shown.waitForPeer()
    } catch (error) {
      // Nobody scanned in time: the relay let the channel expire (or already removed it).
      if (isClientError(error, 'CHANNEL_EXPIRED') || isClientError(error, 'CHANNEL_GONE')) {
        say('status', format(messages, 'loginExpired'))
        continue
      }
      throw error
    }
    if (!(await confirmCode(messages, shown))) {
      say('status', format(messages, 'checkCodeMismatch'))
      show('restart', true)
      return
    }
    say('status', format(messages, 'loginWaitingApproval'))
    try {
      const session = await signIn(shown, { baseUrl, deviceName: format(messages, 'browserDeviceName') })
      await openAccountAs(messages, session)
    } catch (error) {
      say('status', format(messages, isClientError(error, 'ACCESS_DENIED') ? 'loginDeclined' : 'loginFailed'))
      show('restart', true)
    }
    return
  }
  say('status', format(messages, 'loginTooMany'))
  show('restart', true)
}
