/**
 * The live security-event feed of `/account`: a few lines of plain browser JavaScript (no build,
 * so every runtime serves it), content-hashed and immutable like the style sheet. It long-polls
 * `GET /account/events?since=<id>` (the page session's cookie) and puts each new event, already
 * in words and in the page's language, at the top of the list. Without it the list is as rendered.
 */

const SCRIPT = `const list = document.getElementById('events')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const lang = new URLSearchParams(location.search).get('lang')
let since = Number(list?.dataset.since ?? '0')
for (let round = 0; list !== null && round < 2000; round++) {
  try {
    const query = new URLSearchParams({ since: String(since), ...(lang === null ? {} : { lang }) })
    const res = await fetch('/account/events?' + query, { credentials: 'same-origin', headers: { accept: 'application/json' } })
    if (res.status === 401 || res.status === 404) break
    if (!res.ok) { await sleep(5000); continue }
    const { events } = await res.json()
    for (const event of events) {
      const item = document.createElement('li')
      const time = document.createElement('time')
      time.dateTime = event.datetime
      time.textContent = event.time
      item.append(time, ' ' + event.text)
      list.prepend(item)
      since = Math.max(since, event.id)
    }
    if (events.length > 0) document.getElementById('events-none')?.remove()
  } catch {
    await sleep(5000)
  }
}
`

/** The feed script's text. */
export const FEED_SCRIPT = SCRIPT
