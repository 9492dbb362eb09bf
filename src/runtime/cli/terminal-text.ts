/**
 * Text the CLI prints that others chose (a device's name, chosen by whoever signed it in; the details
 * of a security event), made inert for the operator's terminal: a line feed would forge a line of
 * `events tail`, an escape sequence could clear or rewrite the screen, set the window title or write
 * the clipboard (OSC 52), a bidi control reorder what is shown. Each such character is written as its
 * escape (`\n`, `\u001b`), which JSON reads back as the same text.
 */

/** C0 controls, DEL, C1 controls, the line and paragraph separators and the bidi controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this escapes
const TERMINAL_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** Those of them JSON.stringify leaves as they are (it escapes C0 itself). */
const LEFT_BY_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

const escaped = (char: string): string => SHORT[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`

/**
 * `text` with every character a terminal acts on written as its escape.
 *
 * @example
 * printable('Phone\n\u001b[2J') // 'Phone\\n\\u001b[2J'
 */
export const printable = (text: string): string => text.replace(TERMINAL_CONTROL, escaped)

/**
 * `value` as one line of JSON that a terminal only displays: JSON.stringify's, with the controls it
 * leaves (DEL, C1, separators, bidi; they can only be inside strings) escaped too. Parses to `value`.
 *
 * @example
 * jsonLine({ name: 'a\u202eb' }) // '{"name":"a\\u202eb"}'
 */
export const jsonLine = (value: unknown): string => JSON.stringify(value).replace(LEFT_BY_JSON, escaped)
