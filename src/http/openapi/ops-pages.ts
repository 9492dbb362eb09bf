/**
 * The page forms described in full (the others are listed as plain HTML pages, `document.ts`): their
 * form schema is the one the handler parses with (`page-forms.ts`), and they answer HTML, except a
 * body over the cap (an empty `text/plain` 413) and the refusals any route may answer in JSON.
 */
import { ERROR } from './common.ts'
import { DEVICE_DECISION_FORM } from './page-forms.ts'
import type { OperationSpec } from './registry.ts'

const FORM = 'application/x-www-form-urlencoded'

export const PAGE_OPS: readonly OperationSpec[] = [
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
      400: { description: 'Not a user code, or the page area is not available', html: true },
      403: { description: 'Cross-origin form, step-up needed or failed, not approved, or a refusal', html: true, schema: ERROR },
      413: { description: 'Form too large (empty body)', type: 'text/plain' },
      429: { description: 'Too many attempts', html: true, schema: ERROR, headers: ['Retry-After'] },
    },
  },
]
