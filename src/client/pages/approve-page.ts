/**
 * `/approve#…` in the browser: the existing device's side of a QR login (login intent), for a
 * browser signed in to the pages. The fragment (the channel's key and id, never sent to the server)
 * is read, then removed from the address bar; the channel is joined, the check code shown, and the
 * approval runs through the SDK's `approveSignIn` with the page session: its calls go to the page's
 * own approval endpoints (same origin, the HttpOnly cookie; no token reaches a script). The consent
 * shows Decline first and focused; a step-up asks inline. Not signed in: the fragment waits in
 * `sessionStorage` while the person signs in, and the page continues afterwards.
 *
 * @see ../../../docs/pages.md
 */
import { approveSignIn, type ApprovalContext, type StepUpChallenge } from '../approve.ts'
import { ExistingDevice } from '../devices.ts'
import { isClientError } from '../errors.ts'
import type { FetchLike } from '../native-api.ts'
import { byId, format, type Messages, nextChoice, nextSubmit, say, show } from './dom.ts'
import { pageTransport } from './page-transport.ts'

const STORED_LINK = 'qrelay-scanned-link'

/** Sends the SDK's approval calls to the page endpoints, authenticated by the page cookie instead of a token. */
export const pageFetch: FetchLike = (input, init = {}) => {
  const url = String(input).replace('/v1/approvals/', '/approve/api/')
  const headers = new Headers(init.headers)
  headers.delete('authorization')
  return fetch(url, { ...init, headers, credentials: 'same-origin' })
}

/** Shows the consent screen (Decline first and focused); resolves true on Approve. */
export const showConsent = async (messages: Messages, context: ApprovalContext): Promise<boolean> => {
  say('status', format(messages, 'consentWarning'))
  say('consent-name', context.requested_device_name ?? format(messages, 'unnamed'))
  say('consent-started', context.started_at)
  say('consent-networks', context.new_device_networks.map((n) => n.network ?? '?').join(', '))
  show('consent', true)
  byId('consent-decline').focus()
  const choice = await nextChoice('consent-form')
  show('consent', false)
  return choice === 'approve'
}

/** Answers a step-up inline: the password, then a TOTP or recovery code. */
export const stepUpOf =
  (messages: Messages, username: string) =>
  async (challenge: StepUpChallenge): Promise<Record<string, unknown> | null> => {
    const next = challenge.flows.flatMap((flow) => flow.stages.filter((stage) => !challenge.completed.includes(stage)).slice(0, 1))
    const password = next.includes('m.login.password')
    say('stepup-problem', challenge.errcode === undefined ? '' : format(messages, password ? 'wrongPassword' : 'wrongSecondFactor'))
    show('stepup-password-field', password)
    show('stepup-second-field', !password)
    show('stepup', true)
    byId<HTMLInputElement>(password ? 'stepup-password' : 'stepup-totp').focus()
    const fields = await nextSubmit('stepup-form')
    // What was typed leaves the page once sent: a refused code is not left in the field to be sent again.
    byId<HTMLFormElement>('stepup-form').reset()
    show('stepup', false)
    if (fields.get('cancel') !== null) return null
    if (password) return { type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password: fields.get('password') }
    const code = String(fields.get('totp') ?? '').replace(/\s/g, '')
    return next.includes('m.login.2fa.totp') && code !== ''
      ? { type: 'm.login.2fa.totp', code }
      : { type: 'm.login.2fa.recovery', code: String(fields.get('recovery') ?? '').trim() }
  }

/** The catalog key of an approval that ended in `error`. */
export const outcomeKey = (error: unknown): string => {
  if (isClientError(error, 'POLICY_DENIED')) return 'approvePolicyDenied'
  if (isClientError(error, 'STEP_UP_FAILED')) return 'approveStepUpFailed'
  if (isClientError(error, 'GRANT_EXPIRED') || isClientError(error, 'CHANNEL_EXPIRED')) return 'approveExpired'
  if (isClientError(error, 'ABORTED') || isClientError(error, 'CHANNEL_GONE')) return 'approveAborted'
  if (isClientError(error, 'INVALID_QR') || isClientError(error, 'TICKET_INVALID')) return 'approveBadQr'
  return 'approveFailed'
}

/** Runs the page when it was opened with a link (or one is waiting from before the sign-in). */
export const runApprovePage = async (messages: Messages): Promise<void> => {
  const fromAddress = location.hash.startsWith('#v1.') ? location.href : null
  const link = fromAddress ?? sessionStorage.getItem(STORED_LINK)
  if (link === null) return
  // The fragment holds the channel's key: keep it out of the history and the address bar.
  history.replaceState(null, '', location.pathname + location.search)
  const username = document.body.dataset.username ?? ''
  if (username === '') {
    sessionStorage.setItem(STORED_LINK, link)
    location.assign('/signin?next=/approve')
    return
  }
  sessionStorage.removeItem(STORED_LINK)
  show('code-entry', false)
  show('channel-app', true)
  say('status', format(messages, 'approveConnecting'))
  try {
    const scan = await ExistingDevice.scanQr(link, { baseUrl: location.origin, transport: pageTransport() })
    await scan.connect()
    say('check-code', scan.checkCode)
    show('check-code-box', true)
    say('status', format(messages, 'approveTypeCode'))
    const result = await approveSignIn(scan, {
      baseUrl: location.origin,
      accessToken: 'page-session',
      fetch: pageFetch,
      confirm: (context) => {
        show('check-code-box', false)
        return showConsent(messages, context)
      },
      stepUp: stepUpOf(messages, username),
    })
    say('status', format(messages, result.status === 'approved' ? 'approveDone' : 'declined'))
    await scan.close().catch(() => {})
  } catch (error) {
    show('check-code-box', false)
    say('status', format(messages, outcomeKey(error)))
  }
}
