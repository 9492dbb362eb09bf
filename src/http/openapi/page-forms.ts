/**
 * The schemas of the page forms that are validated by schema: each one parses the form in its
 * handler and describes the same form (`application/x-www-form-urlencoded`) in `GET /openapi.json`
 * (`ops-pages.ts`). A page form never fails as a whole: a missing or odd field is read as the page
 * always read it, and the page answers in HTML.
 *
 * @see ../pages/device-approve.tsx
 */
import * as v from 'valibot'
import { readTypedUserCode } from '../pages/user-code-input.ts'

/** An optional text field of a page form. */
const field = () => v.optional(v.string())

/** `POST /device`: the user code as typed (shown again, with the problem, when it cannot be a code). */
export const DEVICE_CODE_FORM = v.looseObject({ user_code: v.optional(v.string(), '') })

/**
 * `POST /device/decide`: the typed user code (canonical, or null when it cannot be one), the button
 * pressed (anything but `approve` declines), and the step-up fields when the policy asks for them.
 */
export const DEVICE_DECISION_FORM = v.looseObject({
  user_code: v.pipe(v.optional(v.string(), ''), v.transform(readTypedUserCode)),
  decision: v.fallback(v.optional(v.picklist(['approve', 'decline']), 'decline'), 'decline'),
  password: field(),
  totp: field(),
  recovery: field(),
})
