/**
 * The language of a page: `?lang=` first (the switcher's links, no cookie), then `Accept-Language`;
 * and the translator of a catalog. No catalog here: the runtime provides them (`page-content.ts`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-12.5.4
 */
import type { Catalog, MessageKey } from './en.ts'

/** A language with a catalog. */
export type Lang = 'en' | 'de'

const isLang = (value: string | undefined): value is Lang => value === 'en' || value === 'de'

/** Picks the language of a request. */
export const pickLang = (query: string | undefined, acceptLanguage: string | undefined): Lang => {
  if (isLang(query)) return query
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().split(';')
      const q = params.find((p) => p.trim().startsWith('q='))
      return { base: tag.toLowerCase().split('-')[0], q: q === undefined ? 1 : Number(q.trim().slice(2)) || 0 }
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q)
  return ranked.map((entry) => entry.base).find(isLang) ?? 'en'
}

/** A translator: the message of a key, `{name}` placeholders filled in. */
export type Translate = (key: MessageKey, values?: Record<string, string>) => string

/** The translator of one catalog (a key it lacks reads as the key itself). */
export const translatorOf =
  (catalog: Partial<Catalog>): Translate =>
  (key, values = {}) =>
    (catalog[key] ?? key).replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole)
