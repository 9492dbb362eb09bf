/**
 * What the `/account` handlers share: the guard that every one of them passes (same-origin POST,
 * a signed-in page session, else the sign-in page), the error → page mapping, and the account
 * page itself built from the services (devices, the feed, the quarantine state).
 */
import type { Hono } from 'hono'
import type { DeviceRecord } from '../../core/accounts/records.ts'
import { RelayError } from '../../core/errors.ts'
import type { FeedEvent } from '../../services/account-events.ts'
import type { AccountServices, Services } from '../../services/services.ts'
import type { AppEnv } from '../context.ts'
import { AccountPage, formatTime, type AccountData, type DeviceRow, type EventRow } from './account-views.tsx'
import { pageContent } from './page-content.ts'
import type { Translate } from './i18n/lang.ts'
import type { PageFrame } from './layout.tsx'
import { type C, formOf, frameOf, render, type SignedIn, signedIn } from './page-context.ts'
import { sameOriginPost } from './session.ts'
import { Message } from './views.tsx'

/** A handler of an `/account` page, called only for a signed-in session. */
export type AccountHandler = (c: C, who: SignedIn, form: Record<string, string>) => Promise<Response>

/** The events the feed shows, newest first. */
const FEED_SHOWN = 20

/** Where the sign-in page sends the person back to. */
export const signinFor = (c: C, next: string): string => {
  const lang = c.req.query('lang')
  return `/signin?next=${encodeURIComponent(next)}${lang === undefined ? '' : `&lang=${encodeURIComponent(lang)}`}`
}

/** An event in words, naming devices by their names. */
export const eventText = (t: Translate, event: FeedEvent, names: ReadonlyMap<string, string>): string => {
  const quoted = (name: string) => `“${name}”`
  const nameOf = (id: unknown) => {
    const name = typeof id === 'string' ? names.get(id) : undefined
    return name === undefined ? t('aDevice') : quoted(name)
  }
  const details = event.details ?? {}
  switch (event.type) {
    case 'device_signed_in': {
      const device = typeof details.device_name === 'string' ? `“${details.device_name}”` : nameOf(event.deviceId)
      if (details.origin === 'password') return t('ev_device_signed_in_password', { device })
      return t('ev_device_signed_in', { device, approver: nameOf(details.approved_by) })
    }
    case 'device_not_me':
      return t('ev_device_not_me', { device: nameOf(event.deviceId) })
    case 'device_revoked':
      return t('ev_device_revoked', { device: nameOf(event.deviceId) })
    case 'device_signed_out': {
      // The device is gone from the list: its name comes with the event.
      const device = typeof details.device_name === 'string' ? quoted(details.device_name) : nameOf(event.deviceId)
      // An RFC 7009 revocation of its token (finding 45): its app logging out, or whoever held the token.
      if (details.via === 'token_revocation') return t('ev_device_signed_out_revoked', { device })
      // A rotated-out refresh token presented again (finding 46): a copy of the token is in other hands.
      if (details.via === 'refresh_token_reuse') return t('ev_device_signed_out_reused', { device })
      if (details.self === true) return t('ev_device_signed_out_self', { device })
      return t('ev_device_signed_out', { device, actor: nameOf(details.by_device) })
    }
    case 'device_renamed': {
      const names = { old: quoted(String(details.old_name ?? '')), new: quoted(String(details.new_name ?? '')) }
      if (details.self === true) return t('ev_device_renamed_self', names)
      return t('ev_device_renamed', { ...names, actor: nameOf(details.by_device) })
    }
    case 'password_changed':
      return t(details.by === 'operator' ? 'ev_password_changed_operator' : 'ev_password_changed', {
        count: String(details.devices_signed_out ?? 0),
      })
    case 'totp_disabled':
      return t(details.by === 'operator' ? 'ev_totp_disabled_operator' : 'ev_totp_disabled')
    case 'recovery_code_used':
      return t('ev_recovery_code_used', { count: String(details.codes_left ?? '?') })
    default:
      return t(`ev_${event.type}`)
  }
}

const rowOf = (d: DeviceRecord, names: ReadonlyMap<string, string>, currentId: string, networks: boolean): DeviceRow => ({
  id: d.id,
  name: d.displayName,
  approvedBy: d.origin === 'password' ? undefined : d.approvedByDeviceId === undefined ? null : (names.get(d.approvedByDeviceId) ?? null),
  lastSeenMs: d.lastSeenAtMs,
  network: networks || d.id === currentId ? d.lastSeenNetwork : undefined,
  createdMs: d.createdAtMs,
  current: d.id === currentId,
})

/** Until when this session is in QR quarantine, from the device-action guard (the service knows the time). */
const quarantineOf = async (accounts: AccountServices, who: SignedIn, devices: DeviceRecord[]): Promise<number | undefined> => {
  const actor = { accountId: who.account.id, deviceId: who.principal.deviceId }
  try {
    await accounts.deviceGuard.ensureAllowed(actor, 'change_password')
    return undefined
  } catch (error) {
    if (!(error instanceof RelayError && error.reason === 'quarantined')) throw error
    return devices.find((d) => d.id === actor.deviceId)?.quarantineUntilMs
  }
}

/** The account page's data. */
export const accountData = async (
  services: Services,
  accounts: AccountServices,
  who: SignedIn,
  t: Translate,
  extra: Pick<AccountData, 'notice' | 'passwordProblem'> = {},
): Promise<AccountData> => {
  const { account, principal } = who
  const devices = await accounts.auth.sessions.listDevices(account.id)
  const names = new Map(devices.map((d) => [d.id, d.displayName]))
  const quarantineUntilMs = await quarantineOf(accounts, who, devices)
  // A session in QR quarantine does not see where the owner's other devices are (finding 51).
  const rows = devices
    .map((d) => rowOf(d, names, principal.deviceId, quarantineUntilMs === undefined))
    .sort((a, b) => Number(b.current) - Number(a.current) || b.lastSeenMs - a.lastSeenMs)
  const feed = await accounts.feed.readSince(account.id, 0, 100)
  const events: EventRow[] = feed
    .slice(-FEED_SHOWN)
    .reverse()
    .map((e) => ({ id: e.id, atMs: e.atMs, text: eventText(t, e, names) }))
  return {
    username: account.username,
    devices: rows,
    events,
    totp: accounts.auth.secondFactors.hasTotp(account),
    minPasswordLength: services.config.auth.passwordMinLength,
    ...(quarantineUntilMs === undefined ? {} : { quarantineUntilMs }),
    ...extra,
  }
}

/** Renders the account page, optionally with an outcome. */
export const accountPage = async (
  c: C,
  services: Services,
  accounts: AccountServices,
  who: SignedIn,
  extra: Pick<AccountData, 'notice' | 'passwordProblem'> = {},
) => {
  const frame = frameOf(c)
  const data = await accountData(services, accounts, who, frame.t, extra)
  return render(
    c,
    services,
    (nonce) => <AccountPage frame={frame} data={data} feedScript={{ src: pageContent().feedScriptPath, nonce }} />,
    extra.passwordProblem === undefined ? 200 : 400,
  )
}

/** A one-message page with a way back to the account. */
export const messagePage = (c: C, services: Services, frame: PageFrame, text: string, status: 200 | 400 | 403 | 404 | 429) =>
  render(c, services, <Message frame={frame} title={frame.t('accountTitle')} text={text} back="/account" />, status)

/** The page of a refusal by a service; anything unexpected is rethrown (the app's error answer). */
const problemPage = async (c: C, services: Services, accounts: AccountServices, who: SignedIn, error: unknown) => {
  if (!(error instanceof RelayError)) throw error
  const frame = frameOf(c)
  const { t } = frame
  if (error.code === 'RATE_LIMITED') return messagePage(c, services, frame, t('tooManyAttempts'), 429)
  if (error.reason === 'quarantined') {
    const devices = await accounts.auth.sessions.listDevices(who.account.id)
    const until = devices.find((d) => d.id === who.principal.deviceId)?.quarantineUntilMs ?? 0
    return messagePage(c, services, frame, t('quarantined', { until: formatTime(frame.lang, until) }), 403)
  }
  if (error.code === 'NOT_FOUND') return messagePage(c, services, frame, t('noSuchDevice'), 404)
  if (error.code === 'INVALID_PARAM' || error.code === 'MISSING_PARAM') return messagePage(c, services, frame, t('actionFailed'), 400)
  throw error
}

/**
 * Mounts one `/account` handler: a POST must come from this origin, a session must be signed in
 * (else the sign-in page, coming back here), and a service's refusal becomes a page.
 */
export const accountRoute = (
  app: Hono<AppEnv>,
  services: Services,
  accounts: AccountServices,
  method: 'get' | 'post',
  path: string,
  handler: AccountHandler,
): void => {
  app[method](path, async (c) => {
    const frame = frameOf(c)
    if (method === 'post' && !sameOriginPost(c, services.config.server.publicBaseUrl)) {
      return render(c, services, <Message frame={frame} title={frame.t('accountTitle')} text={frame.t('forbiddenOrigin')} />, 403)
    }
    const who = await signedIn(c, services, accounts)
    if (who === null) return c.redirect(signinFor(c, '/account'), 303)
    const form = method === 'post' ? await formOf(c) : {}
    try {
      return await handler(c, who, form)
    } catch (error) {
      return problemPage(c, services, accounts, who, error)
    }
  })
}
