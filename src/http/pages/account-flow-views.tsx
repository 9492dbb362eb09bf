/** The steps of the `/account` actions: a confirmation (with a step-up when needed), TOTP setup and recovery codes. */
import { ProofFields } from './account-views.tsx'
import type { PageFrame } from './layout.tsx'
import { Layout } from './layout.tsx'

/** A confirmation of one action: what it does, the proof fields when it needs them, then the button. */
export interface Confirmation {
  title: string
  text: string
  action: string
  /** The action's own fields, sent again with the confirmation. */
  hidden: Record<string, string>
  submit: string
  /** Ask for the password (and the second factor when the account has TOTP). */
  proof: boolean
  totp: boolean
  danger?: boolean
  problem?: string
}

/** The confirmation page. The proof fields come first in the tab order, then the button, then Cancel. */
export const ConfirmAction = (props: { frame: PageFrame; confirm: Confirmation }) => {
  const { t } = props.frame
  const c = props.confirm
  return (
    <Layout frame={props.frame} title={c.title}>
      <p id="confirm-text">{c.text}</p>
      {c.problem === undefined ? null : (
        <p class="error" role="alert">
          {c.problem}
        </p>
      )}
      <form method="post" action={c.action} aria-describedby="confirm-text">
        <input type="hidden" name="confirm" value="1" />
        {Object.entries(c.hidden).map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        {c.proof ? (
          <>
            <p>{t('confirmWithPassword')}</p>
            <ProofFields frame={props.frame} totp={c.totp} prefix="confirm" />
          </>
        ) : null}
        <button type="submit" class={c.danger === true ? 'danger' : 'primary'}>
          {c.submit}
        </button>
        <a class="button" href="/account">
          {t('cancel')}
        </a>
      </form>
    </Layout>
  )
}

/** Groups a base32 key in fours, as authenticator apps show and accept it. */
const grouped = (key: string): string => key.replace(/(.{4})(?=.)/g, '$1 ')

/** TOTP setup: the QR code (an SVG image), the key to type, and the code that turns it on. */
export const TotpSetup = (props: { frame: PageFrame; offer?: { qrSvg: string; secret: string }; problem?: string }) => {
  const { t } = props.frame
  const { offer } = props
  return (
    <Layout frame={props.frame} title={t('totpSetupTitle')}>
      {offer === undefined ? null : (
        <>
          <p>{t('totpScan')}</p>
          <img class="qr" src={`data:image/svg+xml;base64,${btoa(offer.qrSvg)}`} alt={t('totpQrAlt')} width="200" height="200" />
          <p>
            {t('totpManualKey')}: <code class="key">{grouped(offer.secret)}</code>
          </p>
        </>
      )}
      {props.problem === undefined ? null : (
        <p class="error" role="alert">
          {props.problem}
        </p>
      )}
      <form method="post" action="/account/totp/confirm">
        <label for="code">{t('totpConfirmLabel')}</label>
        <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus />
        <button type="submit" class="primary">
          {t('totpConfirm')}
        </button>
        <a class="button" href="/account">
          {t('cancel')}
        </a>
      </form>
    </Layout>
  )
}

/** The recovery codes, shown once, with a download that needs no script (a `data:` link). */
export const RecoveryCodes = (props: { frame: PageFrame; codes: readonly string[]; lead?: string }) => {
  const { t } = props.frame
  const file = `data:text/plain;charset=utf-8,${encodeURIComponent(`${props.codes.join('\n')}\n`)}`
  return (
    <Layout frame={props.frame} title={t('recoveryTitle')}>
      {props.lead === undefined ? null : <p role="status">{props.lead}</p>}
      <p class="notice">{t('recoveryOnce')}</p>
      <ol class="codes" id="recovery-codes">
        {props.codes.map((code) => (
          <li>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <p>
        <a class="button primary" href={file} download="qrelay-recovery-codes.txt">
          {t('recoveryDownload')}
        </a>{' '}
        <a class="button" href="/account">
          {t('backToAccount')}
        </a>
      </p>
    </Layout>
  )
}
