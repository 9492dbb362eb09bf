/**
 * The views of the channel pages: `/login` (the new device shows a QR code) and `/approve` opened
 * from a QR link (the existing device joins it). Their script fills them in; without it they say so
 * and offer the form that works without it.
 */
import type { MessageKey } from './i18n/en.ts'
import { Layout, type PageFrame, type PageScriptTag } from './layout.tsx'
import { CodeEntryForm } from './views.tsx'

/** The messages the login script shows. */
export const LOGIN_SCRIPT_MESSAGES: readonly MessageKey[] = [
  'loginWaiting',
  'loginExpired',
  'loginTooMany',
  'loginScanned',
  'checkCodeFormat',
  'checkCodeMismatch',
  'loginWaitingApproval',
  'loginOpening',
  'loginDeclined',
  'loginFailed',
  'browserDeviceName',
]

/** The messages the approve script shows. */
export const APPROVE_SCRIPT_MESSAGES: readonly MessageKey[] = [
  'showWaiting',
  'showScanned',
  'checkCodeFormat',
  'checkCodeMismatch',
  'linkTypeCode',
  'loginOpening',
  'loginDeclined',
  'browserDeviceName',
  'approveConnecting',
  'approveTypeCode',
  'approveDone',
  'approvePolicyDenied',
  'approveStepUpFailed',
  'approveExpired',
  'approveAborted',
  'approveBadQr',
  'approveFailed',
  'declined',
  'consentWarning',
  'unnamed',
  'wrongPassword',
  'wrongSecondFactor',
  'loginFailed',
]

/** The consent screen (Decline first) and the inline step-up, both filled in and shown by the script. */
const ConsentAndStepUp = (props: { frame: PageFrame }) => {
  const { t } = props.frame
  return (
    <>
      <div id="consent" hidden>
        <h2>{t('consentTitle')}</h2>
        <dl>
          <dt>{t('deviceName')}</dt>
          <dd>
            <q id="consent-name" /> <small>{t('chosenByDevice')}</small>
          </dd>
          <dt>{t('startedAt')}</dt>
          <dd id="consent-started" />
          <dt>{t('networks')}</dt>
          <dd id="consent-networks" />
        </dl>
        <form id="consent-form">
          <button id="consent-decline" type="submit" name="decision" value="decline" class="primary">
            {t('decline')}
          </button>
          <button type="submit" name="decision" value="approve">
            {t('approve')}
          </button>
        </form>
      </div>
      <div id="stepup" hidden>
        <h2>{t('stepUpTitle')}</h2>
        <p id="stepup-problem" class="error" role="alert" />
        <form id="stepup-form">
          <div id="stepup-password-field">
            <label for="stepup-password">{t('password')}</label>
            <input id="stepup-password" name="password" type="password" autocomplete="current-password" />
          </div>
          <div id="stepup-second-field" hidden>
            <label for="stepup-totp">{t('totpLabel')}</label>
            <input id="stepup-totp" name="totp" inputmode="numeric" autocomplete="one-time-code" />
            <label for="stepup-recovery">{t('recoveryLabel')}</label>
            <input id="stepup-recovery" name="recovery" autocomplete="off" />
          </div>
          <button type="submit" class="primary">
            {t('verify')}
          </button>
          <button type="submit" name="cancel" value="1" formnovalidate>
            {t('cancel')}
          </button>
        </form>
      </div>
    </>
  )
}

/** `/login`: the QR code, its live status, the check-code field and the "cannot scan?" fallback. */
export const LoginPage = (props: { frame: PageFrame; script: PageScriptTag | undefined }) => {
  const { t } = props.frame
  return (
    <Layout frame={props.frame} title={t('loginTitle')} {...(props.script === undefined ? {} : { script: props.script })}>
      <noscript>
        <p class="notice">{t('loginNeedsJs')}</p>
      </noscript>
      <div id="login-app" hidden>
        <p>{t('loginIntro')}</p>
        <p id="status" role="status" aria-live="polite">
          {t('loginPreparing')}
        </p>
        <img id="qr" class="qr" alt={t('qrAlt')} width="320" height="320" hidden />
        <form id="check-form" hidden>
          <label for="check-code">{t('checkCodeLabel')}</label>
          <input id="check-code" name="check_code" class="code" inputmode="numeric" autocomplete="off" maxlength={2} required />
          <p id="check-problem" class="error" role="alert" />
          <button type="submit" class="primary">
            {t('confirm')}
          </button>
        </form>
        <details id="cant-scan">
          <summary>{t('cantScan')}</summary>
          <label for="link-text">{t('cantScanText')}</label>
          <input id="link-text" readonly />
        </details>
        <button id="restart" type="button" hidden>
          {t('restart')}
        </button>
      </div>
      <p>
        <a href="/signin?next=/account">{t('usePassword')}</a>
      </p>
    </Layout>
  )
}

/** `/approve`: the code form (no script, or no link), and the channel part the script shows for a QR link. */
export const ApprovePage = (props: { frame: PageFrame; script: PageScriptTag | undefined }) => {
  const { t } = props.frame
  return (
    <Layout frame={props.frame} title={t('approveTitle')} {...(props.script === undefined ? {} : { script: props.script })}>
      <noscript>
        <p class="notice">{t('channelNeedsJs')}</p>
      </noscript>
      <div id="code-entry">
        <CodeEntryForm frame={props.frame} value="" />
      </div>
      <div id="channel-app" hidden>
        <p id="status" role="status" aria-live="polite" />
        <div id="check-code-box" hidden>
          <p class="check-code" id="check-code" />
        </div>
        <ConsentAndStepUp frame={props.frame} />
      </div>
    </Layout>
  )
}

/** `/account/show-qr`: this signed-in browser shows a QR code for a new device (reciprocate intent). */
export const ShowQrPage = (props: { frame: PageFrame; script: PageScriptTag | undefined }) => {
  const { t } = props.frame
  return (
    <Layout frame={props.frame} title={t('showTitle')} {...(props.script === undefined ? {} : { script: props.script })}>
      <noscript>
        <p class="notice">{t('linkNeedsJs')}</p>
      </noscript>
      <p>{t('showIntro')}</p>
      <p id="status" role="status" aria-live="polite" />
      <img id="qr" class="qr" alt={t('qrAlt')} width="320" height="320" hidden />
      <form id="check-form" hidden>
        <label for="check-code">{t('checkCodeLabel')}</label>
        <input id="check-code" name="check_code" class="code" inputmode="numeric" autocomplete="off" maxlength={2} required />
        <p id="check-problem" class="error" role="alert" />
        <button type="submit" class="primary">
          {t('confirm')}
        </button>
      </form>
      <ConsentAndStepUp frame={props.frame} />
      <p>
        <a href="/account">{t('backToAccount')}</a>
      </p>
    </Layout>
  )
}

/** `/link#…`: the new device that scanned a signed-in device's QR code. */
export const LinkPage = (props: { frame: PageFrame; script: PageScriptTag | undefined; fromAnotherSite?: boolean }) => {
  const { t } = props.frame
  return (
    <Layout frame={props.frame} title={t('linkTitle')} {...(props.script === undefined ? {} : { script: props.script })}>
      {props.fromAnotherSite === true ? (
        <p class="notice" role="alert">
          {t('linkFromAnotherSite')}
        </p>
      ) : null}
      <noscript>
        <p class="notice">{t('linkNeedsJs')}</p>
      </noscript>
      <div id="link-app" hidden>
        <p id="status" role="status" aria-live="polite" />
        <div id="check-code-box" hidden>
          <p class="check-code" id="check-code" />
        </div>
      </div>
    </Layout>
  )
}
