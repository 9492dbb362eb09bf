/**
 * The catalogs of the pages, by language, and the translator of a language; the language of a request
 * and the translator of a catalog are in `lang.ts` (what the pages use: the catalogs come from the
 * runtime, `../page-content.ts`).
 */
import { de } from './de.ts'
import { en, type Catalog } from './en.ts'
import { translatorOf, type Lang, type Translate } from './lang.ts'

export { pickLang, type Lang, type Translate } from './lang.ts'

/** The languages with a catalog. */
export const LANGUAGES: Readonly<Record<Lang, Catalog>> = { en, de }

/** The translator of one language. */
export const translator = (lang: Lang): Translate => translatorOf(LANGUAGES[lang])
