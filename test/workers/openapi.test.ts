/**
 * The Worker serves the OpenAPI document and the reference page too. The document is assembled on
 * the first request, from the Worker's own routes and the table of every operation, which the Worker
 * reads through its assets binding (`scripts/worker-assets.ts` writes it at build time): each
 * operation it lists must be exactly what the sources compute.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { DOCS_CSS } from '../../src/http/openapi/docs-style.ts'
import { operationTable } from '../../src/http/openapi/document.ts'

const ORIGIN = 'https://relay.example'

type Json = Record<string, unknown>

describe('OpenAPI on Workers', () => {
  it('serves /openapi.json with the Worker routes, and /docs', async () => {
    const res = await SELF.fetch(`${ORIGIN}/openapi.json`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=300')
    const document = (await res.json()) as { openapi: string; paths: Record<string, Json> }
    expect(document.openapi).toBe('3.1.0')
    expect(Object.keys(document.paths)).toContain('/v1/rendezvous/{id}')
    const page = await SELF.fetch(`${ORIGIN}/docs`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await page.text()).toContain('/v1/rendezvous/{id}')
    const css = await SELF.fetch(`${ORIGIN}/docs/style.css`)
    expect(css.status).toBe(200)
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(await css.text()).toBe(DOCS_CSS)
  })

  it('lists every operation exactly as the sources describe it (the table read from the assets is not stale)', async () => {
    const document = (await (await SELF.fetch(`${ORIGIN}/openapi.json`)).json()) as Json & { paths: Record<string, Record<string, Json>> }
    const table = operationTable()
    const byId = new Map(Object.values(table.operations).map((op) => [op.operationId, op]))
    let compared = 0
    for (const operations of Object.values(document.paths)) {
      for (const operation of Object.values(operations)) {
        if ((operation.tags as string[])[0] === 'Pages' && !byId.has(operation.operationId)) continue
        expect(operation).toEqual(byId.get(operation.operationId))
        compared++
      }
    }
    // The account area, OAuth and the operator routes are on in the workers project.
    expect(compared).toBeGreaterThan(40)
    expect(document.components).toEqual(table.components)
    expect({ ...document, paths: undefined, components: undefined }).toEqual({ ...table.head, paths: undefined, components: undefined })
  })
})
