/**
 * Typed user codes, tolerant of look-alikes: digits that look like letters of the alphabet (5→S,
 * 2→Z, 8→B, 6→G) and Cyrillic/Greek capitals that look like Latin ones are mapped before the
 * server's own normalisation (case, spaces, dashes; `core/oauth/user-code.ts`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-6.1
 */
import { normalizeUserCode } from '../../core/oauth/user-code.ts'

const LOOK_ALIKES: Readonly<Record<string, string>> = {
  '5': 'S',
  '2': 'Z',
  '8': 'B',
  '6': 'G',
  С: 'C',
  Т: 'T',
  М: 'M',
  Н: 'H',
  К: 'K',
  Р: 'P',
  В: 'B',
  Х: 'X',
  Β: 'B',
  Κ: 'K',
  Μ: 'M',
  Ν: 'N',
  Ρ: 'P',
  Τ: 'T',
  Χ: 'X',
  Ζ: 'Z',
}

/** The canonical code of what a person typed, or null when it cannot be one. */
export const readTypedUserCode = (typed: string): string | null => {
  const upper = typed.normalize('NFKC').toUpperCase()
  let mapped = ''
  for (const char of upper) mapped += LOOK_ALIKES[char] ?? char
  return normalizeUserCode(mapped)
}
