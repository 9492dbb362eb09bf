/**
 * The few DOM helpers of the page scripts: the page's message catalog (a JSON block the server
 * rendered, so no English string is hard-coded here), text and visibility of elements by id, and
 * waiting for a form's submit.
 */

/** The messages the server put in `#qrelay-messages` for this page. */
export type Messages = Readonly<Record<string, string>>

/** Reads the page's messages. */
export const readMessages = (): Messages => {
  const block = document.getElementById('qrelay-messages')
  try {
    return JSON.parse(block?.textContent ?? '{}') as Messages
  } catch {
    // A page without its block shows the keys: visible in a test, never a crash.
    return {}
  }
}

/** A message with `{name}` placeholders filled in (the key itself when missing). */
export const format = (messages: Messages, key: string, values: Record<string, string> = {}): string =>
  (messages[key] ?? key).replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole)

/** The element of `id`; throws when the page lacks it (a page and its script ship together). */
export const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id)
  if (found === null) throw new Error(`missing #${id}`)
  return found as T
}

/** Sets the text of `#id`. */
export const say = (id: string, text: string): void => {
  byId(id).textContent = text
}

/** Shows or hides `#id`. */
export const show = (id: string, visible: boolean): void => {
  byId(id).hidden = !visible
}

/** Resolves with the submitted form's fields the next time `#id` is submitted (the page does not reload). */
export const nextSubmit = (id: string): Promise<FormData> =>
  new Promise((resolve) => {
    const form = byId<HTMLFormElement>(id)
    form.addEventListener(
      'submit',
      (event) => {
        event.preventDefault()
        // The clicked button's name and value come along (e.g. a cancel button).
        resolve(new FormData(form, (event as SubmitEvent).submitter))
      },
      { once: true },
    )
  })

/** Resolves with the `value` of the button clicked in `#id` (Enter submits the form's first button). */
export const nextChoice = (id: string): Promise<string> =>
  new Promise((resolve) => {
    const form = byId<HTMLFormElement>(id)
    form.addEventListener(
      'submit',
      (event) => {
        event.preventDefault()
        const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null
        resolve(submitter?.value ?? '')
      },
      { once: true },
    )
  })
