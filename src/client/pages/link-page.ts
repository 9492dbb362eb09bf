/**
 * The reciprocate intent in the browser (docs/pages.md): `/account/show-qr` is the existing device
 * showing a QR code (`ExistingDevice.showQr`), taking the check code the new device shows, then the
 * same consent and step-up as `/approve#…` through the page-session endpoints; `/link#…` is the new
 * device that scanned it (`NewDevice.scanQr`), showing that check code, signing in with a fresh
 * non-extractable DPoP key and handing the session over to the page cookies (`page-handoff.ts`).
 *
 * @see ../../../docs/qr-login.md
 */
import { approveSignIn } from '../approve.ts'
import { ExistingDevice, NewDevice } from '../devices.ts'
import { isClientError } from '../errors.ts'
import { signIn } from '../sign-in.ts'
import { outcomeKey, pageFetch, showConsent, stepUpOf } from './approve-page.ts'
import { byId, format, type Messages, nextSubmit, say, show } from './dom.ts'
import type { FetchLike } from '../native-api.ts'
import { openAccountAs } from './page-handoff.ts'
import { pageTransport } from './page-transport.ts'

/**
 * The channel create of `/account/show-qr` goes to the page-session endpoint (`/account/api/rendezvous`,
 * the cookie as its credential, so it works where only signed-in devices may create); every other call
 * of the channel goes where the SDK sends it.
 */
const showQrFetch: FetchLike = (input, init = {}) => {
  const create = (init.method ?? 'GET').toUpperCase() === 'POST' && String(input) === `${location.origin}/v1/rendezvous`
  if (!create) return fetch(input, init)
  return fetch(`${location.origin}/account/api/rendezvous`, { ...init, credentials: 'same-origin' })
}

/** `/account/show-qr`: shows the QR code, takes the new device's check code, approves. */
export const runShowQrPage = async (messages: Messages): Promise<void> => {
  const baseUrl = location.origin
  const shown = await ExistingDevice.showQr({ baseUrl, fetch: showQrFetch, transport: pageTransport(showQrFetch) })
  byId<HTMLImageElement>('qr').src = `data:image/svg+xml,${encodeURIComponent(shown.qrSvg({ errorCorrection: 'M' }))}`
  show('qr', true)
  say('status', format(messages, 'showWaiting'))
  try {
    await shown.waitForPeer()
    show('qr', false)
    say('status', format(messages, 'showScanned'))
    show('check-form', true)
    byId<HTMLInputElement>('check-code').focus()
    for (let tries = 0; ; tries++) {
      const typed = String((await nextSubmit('check-form')).get('check_code') ?? '').trim()
      try {
        await shown.confirmCheckCode(typed)
        break
      } catch (error) {
        if (!isClientError(error, 'INVALID_CHECK_CODE') || tries >= 20) throw error
        say('check-problem', format(messages, 'checkCodeFormat'))
      }
    }
    show('check-form', false)
    const username = document.body.dataset.username ?? ''
    const result = await approveSignIn(shown, {
      baseUrl,
      accessToken: 'page-session',
      fetch: pageFetch,
      confirm: (context) => showConsent(messages, context),
      stepUp: stepUpOf(messages, username),
    })
    say('status', format(messages, result.status === 'approved' ? 'approveDone' : 'declined'))
    await shown.close().catch(() => {})
  } catch (error) {
    show('qr', false)
    show('check-form', false)
    say('status', format(messages, isClientError(error, 'CHECK_CODE_MISMATCH') ? 'checkCodeMismatch' : outcomeKey(error)))
  }
}

/** `/link#…`: joins the channel of the scanned QR, shows the check code, signs in. */
export const runLinkPage = async (messages: Messages): Promise<void> => {
  if (!location.hash.startsWith('#v1.')) return
  const link = location.href
  // The fragment holds the channel's key: keep it out of the history and the address bar.
  history.replaceState(null, '', location.pathname)
  const baseUrl = location.origin
  show('link-app', true)
  say('status', format(messages, 'approveConnecting'))
  try {
    const scan = await NewDevice.scanQr(link, { baseUrl, transport: pageTransport() })
    await scan.connect()
    say('check-code', scan.checkCode)
    show('check-code-box', true)
    say('status', format(messages, 'linkTypeCode'))
    const session = await signIn(scan, { baseUrl, deviceName: format(messages, 'browserDeviceName') })
    show('check-code-box', false)
    await openAccountAs(messages, session)
  } catch (error) {
    show('check-code-box', false)
    say('status', format(messages, isClientError(error, 'ACCESS_DENIED') ? 'loginDeclined' : outcomeKey(error)))
  }
}
