/**
 * The static content of the pages: the message catalogs, the style sheet and the account feed's
 * script. The runtime provides it once, before the pages are mounted (`createAppWith`): Node from the
 * sources (`page-content-sources.ts`), the Worker as JSON from its assets (docs/workers.md), so the
 * Worker's script does not carry it. The same content everywhere, so one copy per process.
 */
import { hashSecret } from '../../core/crypto/secrets.ts'
import type { Catalog } from './i18n/en.ts'
import type { Lang } from './i18n/lang.ts'

/** What the pages serve as it is. Plain JSON. */
export interface PageContent {
  catalogs: Readonly<Record<Lang, Partial<Catalog>>>
  /** The one style sheet (`style.ts`). */
  styleCss: string
  /** The live security-event feed of `/account` (`feed-script.ts`). */
  feedScript: string
}

/** Content with nothing in it: the pages still answer, in message keys and without style. */
export const EMPTY_PAGE_CONTENT: PageContent = { catalogs: { en: {}, de: {} }, styleCss: '', feedScript: '' }

/** A content-hashed path: the first 16 characters of the SHA-256 (a change is a new URL). */
const hashedPath = (name: string, body: string, ext: string): string => `/assets/${name}.${hashSecret(body).slice(0, 16)}.${ext}`

interface Installed {
  content: PageContent
  stylePath: string
  feedScriptPath: string
}

let installed: Installed | undefined

/** Makes `content` the pages' content (the app builder calls it before it mounts the pages). */
export const installPageContent = (content: PageContent): void => {
  if (installed?.content === content) return
  installed = {
    content,
    stylePath: hashedPath('style', content.styleCss, 'css'),
    feedScriptPath: hashedPath('feed', content.feedScript, 'js'),
  }
}

/** The pages' content and the paths of its files; throws before {@link installPageContent}. */
export const pageContent = (): Installed => {
  if (installed === undefined) throw new Error('the page content is not installed (createAppWith installs it)')
  return installed
}
