/** The English messages of the pages: the reference catalog every other language must match key for key. */
import { enChannel } from './en-channel.ts'
import { enAccount } from './en-account.ts'

export const en = {
  ...enAccount,
  ...enChannel,
  productName: 'qrelay',
  language: 'Language',
  footer: 'Cross-device sign-in. Never type these codes for someone who asks you to.',
  deviceTitle: 'Enter the code shown on the other device',
  approveTitle: 'Sign in a new device',
  deviceHelp: 'The code has ten letters, like BCDFG-HJKLM. Case, spaces and dashes do not matter.',
  codeLabel: 'Code',
  continue: 'Continue',
  badCode: 'That is not a valid code. Check it and try again.',
  unknownCode: 'This code is unknown, used or expired. Start again on the other device.',
  signinTitle: 'Sign in',
  signinToContinue: 'Sign in to continue with code {code}.',
  username: 'Username',
  password: 'Password',
  signIn: 'Sign in',
  secondFactorTitle: 'Confirm it is you',
  totpLabel: 'Code from your authenticator app',
  recoveryLabel: 'Or a recovery code',
  verify: 'Verify',
  wrongCredentials: 'Wrong username or password.',
  wrongSecondFactor: 'That code is wrong or was already used.',
  tooManyAttempts: 'Too many attempts. Wait a moment and try again.',
  signinFailed: 'Sign-in is not possible right now.',
  signedInAs: 'Signed in as {name}.',
  consentTitle: 'You are signing in ANOTHER device',
  consentWarning: 'Approve only if you are holding that device and you started this sign-in yourself.',
  deviceName: 'Name',
  chosenByDevice: '(chosen by that device, not verified)',
  unnamed: 'no name given',
  startedAt: 'Started',
  networks: 'Seen from',
  decline: 'Decline',
  approve: 'Approve',
  notAvailable: 'Accounts are not enabled on this server.',
  declined: 'Declined. Nothing was signed in.',
  typedApprovedTitle: 'One more step on the new device',
  typedApprovedLead: 'Approved. Type this code on the new device to finish signing it in:',
  typedApprovedHelp:
    'Nothing is signed in until the new device sends this code. It works once, until the request expires; after 5 wrong tries the sign-in is cancelled. Never tell it to anyone who asks for it.',
  typedNotApproved: 'This request can no longer be approved. Nothing was signed in.',
  typedPolicyDenied: 'This server does not allow this sign-in (for example, the two devices seem far apart). Nothing was signed in.',
  forbiddenOrigin: 'This form was sent from another site and was refused.',
} as const

/** A message key. */
export type MessageKey = keyof typeof en

/** A catalog: every key of the English one, as plain strings. */
export type Catalog = { readonly [K in MessageKey]: string }
