/**
 * The page forms described in full (the others are listed as plain HTML pages, `document.ts`): their
 * form schema is the one the handler parses with (`page-forms.ts`), and they answer HTML, except a
 * body over the cap (an empty `text/plain` 413) and the refusals any route may answer in JSON.
 */
import { ERROR } from './common.ts'
import { DEVICE_CODE_FORM, DEVICE_DECISION_FORM } from './page-forms.ts'
import type { OperationSpec, ResponseSpec } from './registry.ts'

const FORM = 'application/x-www-form-urlencoded'

/** What both forms answer before reading them: a body over the cap, or too many attempts. */
const FORM_REFUSALS: Readonly<Record<413 | 429, ResponseSpec>> = {
  413: { description: 'Form too large (empty body)', type: 'text/plain' },
  429: { description: 'Too many attempts', html: true, schema: ERROR, headers: ['Retry-After'] },
}

export const PAGE_OPS: readonly OperationSpec[] = [
  {
    method: 'post',
    path: '/device',
    tag: 'Pages',
    summary: 'Enter a user code (HTML page)',
    description:
      'Same-origin form of the code-entry page (the `verification_uri`). The code is read tolerantly (case, dashes, look-alike characters); a signed-in person goes on to the consent screen, anyone else to the sign-in form carrying the code.',
    body: { type: FORM, required: true, schema: DEVICE_CODE_FORM },
    responses: {
      200: { description: 'The consent screen, or the sign-in form carrying the code', html: true },
      400: {
        description:
          'Not a user code (the form again, with the problem), the page area is not available, or a body that cannot be read (JSON)',
        html: true,
        schema: ERROR,
      },
      403: { description: 'Cross-origin form, a session in QR quarantine, or a refusal', html: true, schema: ERROR },
      ...FORM_REFUSALS,
    },
  },
  {
    method: 'post',
    path: '/device/decide',
    tag: 'Pages',
    summary: 'Approve or decline a typed user code (HTML page)',
    description:
      'Same-origin form of the consent screen. Approve shows the request-initiation code for the new device; Decline burns the request. Asks the step-up inline (`password`, `totp`, `recovery`) when the policy wants it.',
    body: { type: FORM, required: true, schema: DEVICE_DECISION_FORM },
    responses: {
      200: { description: 'The code for the new device, the sign-in form, or "declined"', html: true },
      400: {
        description: 'Not a user code, the page area is not available, or a body that cannot be read (JSON)',
        html: true,
        schema: ERROR,
      },
      403: {
        description: 'Cross-origin form, a session in QR quarantine, step-up needed or failed, not approved, or a refusal',
        html: true,
        schema: ERROR,
      },
      ...FORM_REFUSALS,
    },
  },
]
