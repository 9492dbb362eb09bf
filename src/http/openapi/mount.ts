/**
 * Mounts `GET /openapi.json` (the OpenAPI 3.1 document of this very app) and `GET /docs` (the API
 * reference page built from it, plus its style sheet). The document is built once, on the first
 * request, from the app's mounted routes: `document.ts` and the JSON Schema converter load lazily,
 * so a process that never serves them never pays for them at start-up.
 */
import type { Hono } from 'hono'
import type { AppEnv } from '../context.ts'
import type { MountedRoute } from './document.ts'

/** What the mount needs to know about the app. */
export interface OpenApiOptions {
  /** The routes the page area mounted (listed as HTML pages). */
  pages: readonly MountedRoute[]
}

/**
 * Mounts the two endpoints, last in the route table.
 *
 * @example
 * mountOpenApi(app, { pages })
 */
export const mountOpenApi = (app: Hono<AppEnv>, options: OpenApiOptions): void => {
  let built: Promise<Record<string, unknown>> | undefined
  const documentOf = (): Promise<Record<string, unknown>> => {
    built ??= import('./document.ts').then((m) => m.buildDocument(app.routes, options.pages))
    return built
  }
  app.get('/openapi.json', async (c) =>
    c.json(await documentOf(), 200, { 'Cache-Control': 'public, max-age=300', 'Access-Control-Allow-Origin': '*' }),
  )
  app.get('/docs', async (c) => {
    const { renderDocsPage } = await import('./docs-page.tsx')
    return renderDocsPage(c, await documentOf())
  })
  app.get('/docs/style.css', async (c) => {
    const { DOCS_CSS } = await import('./docs-style.ts')
    return c.body(DOCS_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=3600' })
  })
}
