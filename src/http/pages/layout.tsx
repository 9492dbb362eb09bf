/** The frame of every page: header (product name, language switcher), main, footer. */
import type { Child } from 'hono/jsx'
import type { Lang, Translate } from './i18n/index.ts'
import { STYLE_PATH } from './style.ts'

/** What every page view gets. */
export interface PageFrame {
  lang: Lang
  t: Translate
  /** The path and query of this page without `lang`, for the switcher's links. */
  here: string
}

const switchTo = (here: string, lang: Lang): string => `${here}${here.includes('?') ? '&' : '?'}lang=${lang}`

/** Wraps `children` in the document. */
export const Layout = (props: { frame: PageFrame; title: string; children: Child }) => {
  const { frame } = props
  return (
    <html lang={frame.lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ${frame.t('productName')}`}</title>
        <link rel="stylesheet" href={STYLE_PATH} />
      </head>
      <body>
        <header>
          <span class="product">{frame.t('productName')}</span>
          <nav aria-label={frame.t('language')}>
            <a href={switchTo(frame.here, 'en')} hreflang="en" lang="en" aria-current={frame.lang === 'en' ? 'true' : undefined}>
              English
            </a>
            <a href={switchTo(frame.here, 'de')} hreflang="de" lang="de" aria-current={frame.lang === 'de' ? 'true' : undefined}>
              Deutsch
            </a>
          </nav>
        </header>
        <main>
          <h1>{props.title}</h1>
          {props.children}
        </main>
        <footer>{frame.t('footer')}</footer>
      </body>
    </html>
  )
}
