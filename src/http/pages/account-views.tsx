/** The views of `/account`: devices, the security-event feed, two-step verification and the password, all plain forms. */
import type { Lang } from './i18n/lang.ts'
import type { PageFrame } from './layout.tsx'
import { Layout } from './layout.tsx'

/** A time as people read it, in UTC (the server does not know the reader's zone). */
export const formatTime = (lang: Lang, ms: number): string =>
  `${new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(ms)} UTC`

/** One device of the list. */
export interface DeviceRow {
  id: string
  name: string
  /** Undefined: signed in with the password; null: by QR, its approver is gone; else the approver's name. */
  approvedBy: string | null | undefined
  lastSeenMs: number
  network: string | undefined
  createdMs: number
  current: boolean
}

/** One line of the security-event feed, already in words. */
export interface EventRow {
  id: number
  atMs: number
  text: string
}

/** Everything `/account` shows. */
export interface AccountData {
  username: string
  devices: DeviceRow[]
  events: EventRow[]
  totp: boolean
  /** Set while this browser's session is in QR quarantine. */
  quarantineUntilMs?: number
  /** A done action's outcome (role=status). */
  notice?: string
  /** Why the password change was refused. */
  passwordProblem?: string
  minPasswordLength: number
}

/** The password and, when the account has TOTP, the second-factor fields of a step-up. */
export const ProofFields = (props: { frame: PageFrame; totp: boolean; prefix: string; passwordLabel?: string }) => {
  const { t } = props.frame
  const id = (name: string) => `${props.prefix}-${name}`
  return (
    <>
      <label for={id('password')}>{props.passwordLabel ?? t('password')}</label>
      <input id={id('password')} name="password" type="password" autocomplete="current-password" required />
      {props.totp ? (
        <>
          <label for={id('totp')}>{t('totpLabel')}</label>
          <input id={id('totp')} name="totp" inputmode="numeric" autocomplete="one-time-code" />
          <label for={id('recovery')}>{t('recoveryLabel')}</label>
          <input id={id('recovery')} name="recovery" autocomplete="off" />
        </>
      ) : null}
    </>
  )
}

const Device = (props: { frame: PageFrame; device: DeviceRow }) => {
  const { t, lang } = props.frame
  const d = props.device
  const how =
    d.approvedBy === undefined ? t('viaPassword') : d.approvedBy === null ? t('viaQrUnknown') : t('viaQr', { name: `“${d.approvedBy}”` })
  const seen = formatTime(lang, d.lastSeenMs)
  return (
    <li class={d.current ? 'device current' : 'device'} aria-current={d.current ? 'true' : undefined}>
      <h3>
        {d.name} {d.current ? <span class="badge">{t('thisDevice')}</span> : null}
      </h3>
      <dl>
        <dt>{t('howSignedIn')}</dt>
        <dd>{how}</dd>
        <dt>{t('lastSeen')}</dt>
        <dd>{d.network === undefined ? seen : t('lastSeenFrom', { time: seen, network: d.network })}</dd>
        <dt>{t('signedInAt')}</dt>
        <dd>{formatTime(lang, d.createdMs)}</dd>
      </dl>
      {d.current ? null : (
        <div class="actions">
          <form method="post" action="/account/devices/sign-out">
            <input type="hidden" name="device_id" value={d.id} />
            <button type="submit" aria-label={`${t('signOutDevice')} ${d.name}`}>
              {t('signOutDevice')}
            </button>
          </form>
          <form method="post" action="/account/devices/not-me">
            <input type="hidden" name="device_id" value={d.id} />
            <button type="submit" class="danger" aria-label={`${t('notMe')} ${d.name}`}>
              {t('notMe')}
            </button>
          </form>
        </div>
      )}
    </li>
  )
}

const TwoFactor = (props: { frame: PageFrame; totp: boolean }) => {
  const { t } = props.frame
  if (!props.totp) {
    return (
      <>
        <p>{t('twoFactorOff')}</p>
        <form method="post" action="/account/totp/begin">
          <button type="submit" class="primary">
            {t('setUpTotp')}
          </button>
        </form>
      </>
    )
  }
  return (
    <>
      <p>{t('twoFactorOn')}</p>
      <div class="actions">
        <form method="post" action="/account/recovery-codes">
          <button type="submit">{t('newRecoveryCodes')}</button>
        </form>
        <form method="post" action="/account/totp/disable">
          <button type="submit" class="danger">
            {t('turnOffTotp')}
          </button>
        </form>
      </div>
    </>
  )
}

const PasswordChange = (props: { frame: PageFrame; totp: boolean; min: number; problem: string | undefined }) => {
  const { t } = props.frame
  return (
    <form method="post" action="/account/password">
      {props.problem === undefined ? null : (
        <p class="error" role="alert">
          {props.problem}
        </p>
      )}
      <ProofFields frame={props.frame} totp={props.totp} prefix="pw" passwordLabel={t('currentPassword')} />
      <label for="new_password">{t('newPassword')}</label>
      <input
        id="new_password"
        name="new_password"
        type="password"
        autocomplete="new-password"
        minlength={props.min}
        required
        aria-describedby="new-password-help"
      />
      <p id="new-password-help" class="help">
        {t('newPasswordHelp', { min: String(props.min) })}
      </p>
      <label class="check">
        <input type="checkbox" name="logout_devices" value="on" checked /> {t('signOutOthers')}
      </label>
      <button type="submit" class="primary">
        {t('changePassword')}
      </button>
    </form>
  )
}

/** `/account`. */
export const AccountPage = (props: { frame: PageFrame; data: AccountData; feedScript?: { src: string; nonce: string } }) => {
  const { t, lang } = props.frame
  const { data } = props
  const since = data.events.reduce((max, event) => Math.max(max, event.id), 0)
  return (
    <Layout frame={props.frame} title={t('accountTitle')} {...(props.feedScript === undefined ? {} : { moduleScript: props.feedScript })}>
      {data.quarantineUntilMs === undefined ? null : (
        <p class="notice" role="alert" id="quarantine">
          {t('quarantineBanner', { until: formatTime(lang, data.quarantineUntilMs) })}
        </p>
      )}
      {data.notice === undefined ? null : (
        <p class="done" role="status">
          {data.notice}
        </p>
      )}
      <div class="signed-in">
        <p>{t('signedInAs', { name: data.username })}</p>
        <form method="post" action="/signout">
          <button type="submit">{t('signOut')}</button>
        </form>
      </div>
      <section aria-labelledby="devices-h">
        <h2 id="devices-h">{t('devicesHeading')}</h2>
        <ul class="devices">
          {data.devices.map((device) => (
            <Device frame={props.frame} device={device} />
          ))}
        </ul>
        <p>
          <a href="/account/show-qr">{t('showLink')}</a>
        </p>
      </section>
      <section aria-labelledby="events-h">
        <h2 id="events-h">{t('eventsHeading')}</h2>
        {data.events.length === 0 ? <p id="events-none">{t('eventsNone')}</p> : null}
        <ol class="events" id="events" data-since={String(since)} aria-live="polite">
          {data.events.map((event) => (
            <li data-id={String(event.id)}>
              <time datetime={new Date(event.atMs).toISOString()}>{formatTime(lang, event.atMs)}</time> {event.text}
            </li>
          ))}
        </ol>
      </section>
      <section aria-labelledby="twofactor-h">
        <h2 id="twofactor-h">{t('twoFactorHeading')}</h2>
        <TwoFactor frame={props.frame} totp={data.totp} />
      </section>
      <section aria-labelledby="password-h">
        <h2 id="password-h">{t('passwordHeading')}</h2>
        <PasswordChange frame={props.frame} totp={data.totp} min={data.minPasswordLength} problem={data.passwordProblem} />
      </section>
    </Layout>
  )
}
