/** The frame of every page: header (product name, language switcher), main, footer. */
import type { Child } from 'hono/jsx'
import type { MessageKey } from './i18n/en.ts'
import type { Lang, Translate } from './i18n/lang.ts'
import { pageContent } from './page-content.ts'

/** What every page view gets. */
export interface PageFrame {
  lang: Lang
  t: Translate
  /** The path and query of this page without `lang`, for the switcher's links. */
  here: string
}

/** The page script of a page that has one: where it is, its nonce, and what it needs from the server. */
export interface PageScriptTag {
  src: string
  nonce: string
  /** Which part of the script runs (`<body data-page>`). */
  page: 'login' | 'approve' | 'link' | 'show'
  /** The catalog messages the script shows, in the page's language. */
  messages: Partial<Record<MessageKey, string>>
  /** The signed-in username, for the script's step-up (none: not signed in). */
  username?: string
}

/** The messages block: JSON inside a non-executed script element, `<` escaped so it cannot close it. */
const messagesJson = (messages: PageScriptTag['messages']): string => JSON.stringify(messages).replace(/</g, '\\u003c')

const switchTo = (here: string, lang: Lang): string => `${here}${here.includes('?') ? '&' : '?'}lang=${lang}`

/** Wraps `children` in the document. */
export const Layout = (props: {
  frame: PageFrame
  title: string
  children: Child
  script?: PageScriptTag
  /** A small module script of its own (the account's live feed). */
  moduleScript?: { src: string; nonce: string }
}) => {
  const { frame, script } = props
  return (
    <html lang={frame.lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ${frame.t('productName')}`}</title>
        <link rel="stylesheet" href={pageContent().stylePath} />
        <link rel="icon" href="data:," />
        {script === undefined ? null : <script type="module" src={script.src} nonce={script.nonce} />}
        {props.moduleScript === undefined ? null : <script type="module" src={props.moduleScript.src} nonce={props.moduleScript.nonce} />}
      </head>
      <body data-page={script?.page} data-username={script?.username}>
        {script === undefined ? null : (
          <script
            type="application/json"
            id="qrelay-messages"
            nonce={script.nonce}
            dangerouslySetInnerHTML={{ __html: messagesJson(script.messages) }}
          />
        )}
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
