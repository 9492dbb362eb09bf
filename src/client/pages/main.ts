/**
 * The page script (`/assets/pages.<hash>.js`): runs the part of the page named by `<body data-page>`.
 * Bundled by `scripts/build.ts` for browsers; every string it shows comes from the page's catalog.
 */
import { readMessages } from './dom.ts'
import { runApprovePage } from './approve-page.ts'
import { runLoginPage } from './login-page.ts'

const page = document.body.dataset.page
const messages = readMessages()
const run = page === 'login' ? runLoginPage(messages) : page === 'approve' ? runApprovePage(messages) : Promise.resolve()
run.catch(() => {
  const status = document.getElementById('status')
  if (status !== null) status.textContent = messages.loginFailed ?? ''
})
