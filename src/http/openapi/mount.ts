/**
 * Mounts `GET /openapi.json` (the OpenAPI 3.1 document of this very app) and `GET /docs` (the API
 * reference page built from it, plus its style sheet). The document is assembled once, on the first
 * request, from the app's mounted routes and the table of every operation, which the runtime loads
 * lazily (Node: `document.ts` computes it; the Worker: JSON from its assets), so a process that
 * never serves them never pays for them at start-up.
 */
import type { Context, Hono } from 'hono'
import type { AppEnv } from '../context.ts'
import { assembleDocument, type MountedRoute, type OperationTable } from './assemble.ts'

/** What the mount needs to know about the app. */
export interface OpenApiOptions {
  /** The routes the page area mounted (listed as HTML pages). */
  pages: readonly MountedRoute[]
  /** Loads the table of every operation (`document.ts`'s `operationTable`, or the same as data). */
  operations: () => Promise<OperationTable>
  /** Loads the `/docs` page (`docs.ts`). */
  docs: () => Promise<DocsPage>
}

/** The `/docs` page: its renderer and its style sheet (`docs.ts`). */
export interface DocsPage {
  renderDocsPage: (c: Context, document: Record<string, unknown>) => Response | Promise<Response>
  DOCS_CSS: string
}

/**
 * Mounts the two endpoints, last in the route table.
 *
 * @example
 * mountOpenApi(app, { pages, operations: () => import('./document.ts').then((m) => m.operationTable()), docs: () => import('./docs.ts') })
 */
export const mountOpenApi = (app: Hono<AppEnv>, options: OpenApiOptions): void => {
  let built: Promise<{ document: Record<string, unknown>; json: string }> | undefined
  // Built once, with its JSON text: both endpoints are open to anyone, and the document (≈ 86 kB) is
  // the same for every request; serialising or rendering it per request cost 15–40 plain requests' CPU
  // time each (finding 66).
  const builtOnce = (): Promise<{ document: Record<string, unknown>; json: string }> => {
    built ??= options.operations().then(
      (table) => {
        const document = assembleDocument(table, app.routes, options.pages)
        return { document, json: JSON.stringify(document) }
      },
      (error: unknown) => {
        // Not cached: the next request tries again (a Worker's assets binding may fail once).
        built = undefined
        throw error
      },
    )
    return built
  }
  const documentOf = async (): Promise<Record<string, unknown>> => (await builtOnce()).document
  app.get('/openapi.json', async (c) =>
    c.body((await builtOnce()).json, 200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'public, max-age=300',
      'Access-Control-Allow-Origin': '*',
    }),
  )
  app.get('/docs', async (c) => {
    const { renderDocsPage } = await options.docs()
    return renderDocsPage(c, await documentOf())
  })
  app.get('/docs/style.css', async (c) => {
    const { DOCS_CSS } = await options.docs()
    return c.body(DOCS_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=3600' })
  })
}
