/**
 * The pages' content computed from the sources: what Node serves, and what `scripts/worker-assets.ts`
 * writes as JSON for the Worker.
 */
import { FEED_SCRIPT } from './feed-script.ts'
import { LANGUAGES } from './i18n/index.ts'
import type { PageContent } from './page-content.ts'
import { STYLE_CSS } from './style.ts'

/** The catalogs, the style sheet and the feed script, as the sources have them. */
export const PAGE_CONTENT_FROM_SOURCES: PageContent = { catalogs: LANGUAGES, styleCss: STYLE_CSS, feedScript: FEED_SCRIPT }
