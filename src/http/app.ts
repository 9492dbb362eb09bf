/**
 * The qrelay HTTP application (`app-core.ts` mounts the route table) with its static content computed
 * from the sources: the pages' catalogs, style sheet and feed script, and the OpenAPI operations and
 * the `/docs` page, which load on their first request (on Node chunks of their own). Runtime-neutral (Hono): `src/runtime/*` serve it; the Worker calls
 * `createAppWith` with the same content read from its assets, so none of the code below is in its bundle.
 */
import { Hono } from 'hono'
import type { Services } from '../services/services.ts'
import { createAppWith, type AppContent, type AppHost } from './app-core.ts'
import type { AppEnv } from './context.ts'
import { PAGE_CONTENT_FROM_SOURCES } from './pages/page-content-sources.ts'

export type { AppHost } from './app-core.ts'

const contentFromSources: AppContent = {
  openApiOperations: () => import('./openapi/document.ts').then((m) => m.operationTable()),
  docs: () => import('./openapi/docs.ts'),
  pages: PAGE_CONTENT_FROM_SOURCES,
  newApp: () => new Hono<AppEnv>(),
}

/**
 * Builds the app on already-built services.
 *
 * @example
 * const app = createApp(compose(config, ports), { getSocketAddress })
 * const res = await app.request('/healthz')
 */
export const createApp = (services: Services, host: AppHost): Hono<AppEnv> => createAppWith(services, host, contentFromSources)
