/** The views of `/device` and `/signin`: plain forms, complete without JavaScript. */
import { ProofFields } from './account-views.tsx'
import type { PageFrame } from './layout.tsx'
import { Layout } from './layout.tsx'

const Problem = (props: { text: string | undefined }) =>
  props.text === undefined ? null : (
    <p class="error" role="alert">
      {props.text}
    </p>
  )

/** The code entry form, with its help text and problem. */
export const CodeEntryForm = (props: { frame: PageFrame; value: string; problem?: string }) => {
  const { t } = props.frame
  return (
    <>
      <p id="code-help">{t('deviceHelp')}</p>
      <Problem text={props.problem} />
      <form method="post" action="/device">
        <label for="user_code">{t('codeLabel')}</label>
        <input
          id="user_code"
          name="user_code"
          class="code"
          value={props.value}
          autocomplete="off"
          autocapitalize="characters"
          spellcheck={false}
          required
          aria-describedby="code-help"
          autofocus
        />
        <button type="submit" class="primary">
          {t('continue')}
        </button>
      </form>
    </>
  )
}

/** The code entry page. */
export const CodeEntry = (props: { frame: PageFrame; value: string; problem?: string }) => (
  <Layout frame={props.frame} title={props.frame.t('deviceTitle')}>
    <CodeEntryForm frame={props.frame} value={props.value} {...(props.problem === undefined ? {} : { problem: props.problem })} />
  </Layout>
)

/** The state of a sign-in in progress: the UIA session and what is left. */
export interface SigninStep {
  /** The user code to continue with afterwards, canonical, if any. */
  userCode?: string
  /** The page to go to afterwards instead of `/device` (only these). */
  next?: '/account' | '/approve'
  /** Set once the password is done: the UIA session and the username. */
  second?: { session: string; username: string }
}

const Hidden = (props: { step: SigninStep }) => (
  <>
    {props.step.userCode === undefined ? null : <input type="hidden" name="user_code" value={props.step.userCode} />}
    {props.step.next === undefined ? null : <input type="hidden" name="next" value={props.step.next} />}
    {props.step.second === undefined ? null : (
      <>
        <input type="hidden" name="session" value={props.step.second.session} />
        <input type="hidden" name="username" value={props.step.second.username} />
      </>
    )}
  </>
)

/** The sign-in form: username and password, or the second factor once the password is done. */
export const SigninForm = (props: { frame: PageFrame; step: SigninStep; problem?: string }) => {
  const { t } = props.frame
  const { step } = props
  const lead =
    step.userCode === undefined ? null : <p>{t('signinToContinue', { code: `${step.userCode.slice(0, 5)}-${step.userCode.slice(5)}` })}</p>
  if (step.second !== undefined) {
    return (
      <Layout frame={props.frame} title={t('secondFactorTitle')}>
        {lead}
        <Problem text={props.problem} />
        <form method="post" action="/signin">
          <Hidden step={step} />
          <label for="totp">{t('totpLabel')}</label>
          <input id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code" autofocus />
          <label for="recovery">{t('recoveryLabel')}</label>
          <input id="recovery" name="recovery" autocomplete="off" />
          <button type="submit" class="primary">
            {t('verify')}
          </button>
        </form>
      </Layout>
    )
  }
  return (
    <Layout frame={props.frame} title={t('signinTitle')}>
      {lead}
      <Problem text={props.problem} />
      <form method="post" action="/signin">
        <Hidden step={step} />
        <label for="username">{t('username')}</label>
        <input id="username" name="username" autocomplete="username" required autofocus />
        <label for="password">{t('password')}</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <button type="submit" class="primary">
          {t('signIn')}
        </button>
      </form>
    </Layout>
  )
}

/** What the consent screen shows (from the approvals service). */
export interface ConsentData {
  userCode: string
  username: string
  requestedName: string | null
  startedAt: string
  networks: string[]
}

/** The step-up the policy asked for on the consent screen: the account's factors and the last problem. */
export interface ConsentStepUp {
  totp: boolean
  problem: 'wrongPassword' | 'wrongSecondFactor' | 'needSecondFactor' | undefined
}

/**
 * The consent screen: Decline is the first button and the form's default (Enter declines; it needs
 * none of the step-up fields). With `stepUp`, the password (and second factor) to approve.
 */
export const Consent = (props: { frame: PageFrame; data: ConsentData; stepUp?: ConsentStepUp }) => {
  const { t } = props.frame
  const { data, stepUp } = props
  return (
    <Layout frame={props.frame} title={t('consentTitle')}>
      <p>{t('signedInAs', { name: data.username })}</p>
      <p class="notice" role="alert">
        {t('consentWarning')}
      </p>
      <dl>
        <dt>{t('deviceName')}</dt>
        <dd>
          <q>{data.requestedName ?? t('unnamed')}</q> <small>{t('chosenByDevice')}</small>
        </dd>
        <dt>{t('startedAt')}</dt>
        <dd>
          <time datetime={data.startedAt}>{data.startedAt}</time>
        </dd>
        <dt>{t('networks')}</dt>
        <dd>{data.networks.join(', ')}</dd>
      </dl>
      <form method="post" action="/device/decide">
        <input type="hidden" name="user_code" value={data.userCode} />
        {stepUp === undefined ? null : (
          <fieldset>
            <legend>{t('stepUpTitle')}</legend>
            <Problem text={stepUp.problem === undefined ? undefined : t(stepUp.problem)} />
            <ProofFields frame={props.frame} totp={stepUp.totp} prefix="step" />
          </fieldset>
        )}
        <button type="submit" name="decision" value="decline" class="primary" formnovalidate autofocus>
          {t('decline')}
        </button>
        <button type="submit" name="decision" value="approve">
          {t('approve')}
        </button>
      </form>
    </Layout>
  )
}

/** After approving a typed code: the code to type on the new device, shown once. */
export const TypedApproved = (props: { frame: PageFrame; code: string }) => {
  const { t } = props.frame
  return (
    <Layout frame={props.frame} title={t('typedApprovedTitle')}>
      <p role="status">{t('typedApprovedLead')}</p>
      <p class="code" id="initiation-code">
        {props.code}
      </p>
      <p>{t('typedApprovedHelp')}</p>
    </Layout>
  )
}

/** A page with one message. */
export const Message = (props: { frame: PageFrame; title: string; text: string; back?: string; backLabel?: string }) => (
  <Layout frame={props.frame} title={props.title}>
    <p role="status">{props.text}</p>
    {props.back === undefined ? null : (
      <p>
        <a href={props.back}>{props.backLabel ?? props.frame.t('backToAccount')}</a>
      </p>
    )}
  </Layout>
)
