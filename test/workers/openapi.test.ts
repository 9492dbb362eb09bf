/**
 * The Worker serves the OpenAPI document and the reference page too (the document is built on the
 * first request, from the Worker's own routes).
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'

const ORIGIN = 'https://relay.example'

describe('OpenAPI on Workers', () => {
  it('serves /openapi.json with the Worker routes, and /docs', async () => {
    const res = await SELF.fetch(`${ORIGIN}/openapi.json`)
    expect(res.status).toBe(200)
    const document = (await res.json()) as { openapi: string; paths: Record<string, unknown> }
    expect(document.openapi).toBe('3.1.0')
    expect(Object.keys(document.paths)).toContain('/v1/rendezvous/{id}')
    const page = await SELF.fetch(`${ORIGIN}/docs`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await page.text()).toContain('/v1/rendezvous/{id}')
  })
})
