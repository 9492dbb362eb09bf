/**
 * The page script (`/assets/pages.<hash>.js`): runs the part of the page named by `<body data-page>`.
 * Bundled by `scripts/build.ts` for browsers; every string it shows comes from the page's catalog.
 */
import { readMessages } from './dom.ts'
import { runApprovePage } from './approve-page.ts'
import { runLinkPage, runShowQrPage } from './link-page.ts'
import { runLoginPage } from './login-page.ts'

const page = document.body.dataset.page
const messages = readMessages()
const pages: Record<string, (m: typeof messages) => Promise<void>> = {
  login: runLoginPage,
  approve: runApprovePage,
  link: runLinkPage,
  show: runShowQrPage,
}
const run = pages[page ?? '']?.(messages) ?? Promise.resolve()
run.catch(() => {
  const status = document.getElementById('status')
  if (status !== null) status.textContent = messages.loginFailed ?? ''
})
