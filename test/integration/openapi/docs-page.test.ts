/**
 * `GET /docs`: the reference page rendered from the document, with the strict page headers, no
 * script and no third-party origin, and its style sheet (dark mode, 320 px).
 */
import { describe, expect, it } from 'vitest'
import { makeApp } from '../../helpers/make-app.ts'

describe('GET /docs', () => {
  it('lists the operations by tag, with parameters, bodies and responses', async () => {
    const { app } = makeApp()
    const res = await app.request('/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toMatch(/script-src|https?:/)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const html = await res.text()
    for (const text of [
      'MSC4108 rendezvous',
      'Native rendezvous',
      'OAuth',
      'Accounts',
      '/v1/devices/{id}',
      'Parameters',
      'Request body',
      'Responses',
    ]) {
      expect(html).toContain(text)
    }
    expect(html).not.toMatch(/<script/i)
    // Only its own origin: every src and href is relative or a fragment.
    for (const [, url] of html.matchAll(/(?:src|href)="([^"]*)"/g)) expect(url).toMatch(/^(\/|#|data:)/)
  })

  it('serves its style sheet, with a dark scheme and a 320 px minimum', async () => {
    const res = await makeApp().app.request('/docs/style.css')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/css/)
    const css = await res.text()
    expect(css).toContain('prefers-color-scheme:dark')
    expect(css).toContain('min-width:320px')
  })
})
