/**
 * The Worker's static content, read through its `ASSETS` binding (wrangler.toml `[assets]`, written by
 * `scripts/worker-assets.ts`; paths in `workers-assets.ts`): what Node computes or imports from the
 * sources and the Worker's script does not carry (docs/workers.md).
 */
import type { Hono } from 'hono'
import { HonoBase } from 'hono/hono-base'
import { TrieRouter } from 'hono/router/trie-router'
import type { CommonPasswords } from '../core/auth/password-rules.ts'
import type { AppContent } from '../http/app-core.ts'
import type { AppEnv } from '../http/context.ts'
import type { OperationTable } from '../http/openapi/assemble.ts'
import { renderDocsPage } from '../http/openapi/docs-page.tsx'
import { EMPTY_PAGE_CONTENT, type PageContent } from '../http/pages/page-content.ts'
import type { Logger } from '../ports.ts'
import { COMMON_PASSWORDS_ASSET, DOCS_STYLE_ASSET, OPENAPI_TABLE_ASSET, PAGE_CONTENT_ASSET, PAGE_SCRIPT_ASSET } from './workers-assets.ts'

/** The Worker's bindings: wrangler.toml's, with the `[assets]` binding. */
export type WorkerEnv = Env & { ASSETS?: Fetcher }

/** One file of the Worker's static assets (`scripts/worker-assets.ts`), through the assets binding. */
const assetOf = async (env: WorkerEnv, path: string): Promise<Response | undefined> => {
  const res = await env.ASSETS?.fetch(`https://assets.invalid${path}`)
  return res?.ok === true ? res : undefined
}

/**
 * The page script, read once per isolate through the assets binding (wrangler.toml `[assets]`); the
 * app serves it under its content-hashed path. No binding or no file: the channel pages say they need it.
 */
export const pageScriptOf = (env: WorkerEnv): (() => Promise<string | undefined>) => {
  let loading: Promise<string | undefined> | undefined
  const read = async (): Promise<string | undefined> => (await assetOf(env, PAGE_SCRIPT_ASSET))?.text()
  return () => {
    loading ??= read().catch(() => {
      loading = undefined
      return undefined
    })
    return loading
  }
}

/** Reads a JSON or text asset once; a failure is not kept, so the next call tries again. */
const onceFrom = <T>(read: () => Promise<T>): (() => Promise<T>) => {
  let loading: Promise<T> | undefined
  return () => {
    loading ??= read().catch((error: unknown) => {
      loading = undefined
      throw error
    })
    return loading
  }
}

/**
 * The app's static content from the assets (`scripts/worker-assets.ts`): the pages' content, read
 * before the app is built (without it the pages answer in message keys, unstyled, and say so in the
 * log); the OpenAPI table and the `/docs` style sheet, read on the first `/openapi.json` or `/docs`.
 */
export const contentOf = async (env: WorkerEnv, logger: Logger): Promise<AppContent> => {
  const missing = (path: string) => new Error(`${path} is missing from the Worker's assets (scripts/worker-assets.ts)`)
  const pages = await assetOf(env, PAGE_CONTENT_ASSET)
    .then((res) => (res === undefined ? Promise.reject(missing(PAGE_CONTENT_ASSET)) : (res.json() as Promise<PageContent>)))
    .catch((error: unknown) => {
      logger.error({ err: String(error) }, 'the page content could not be read: the pages answer without it')
      return EMPTY_PAGE_CONTENT
    })
  const docsCss = onceFrom(async () => (await assetOf(env, DOCS_STYLE_ASSET))?.text() ?? Promise.reject(missing(DOCS_STYLE_ASSET)))
  return {
    pages,
    // TrieRouter alone: the same matches as Hono's default (which falls back to it), in a smaller script.
    newApp: () => new HonoBase<AppEnv>({ router: new TrieRouter() }) as Hono<AppEnv>,
    docs: async () => ({ renderDocsPage, DOCS_CSS: await docsCss() }),
    openApiOperations: onceFrom(async () => {
      const res = await assetOf(env, OPENAPI_TABLE_ASSET)
      if (res === undefined) throw missing(OPENAPI_TABLE_ASSET)
      return (await res.json()) as OperationTable
    }),
  }
}

/**
 * The list of common passwords new passwords are checked against (`core/auth/common-passwords.ts`).
 * Without it, every new password is refused as too common (fail closed; logged): sign-in still works,
 * registration and password changes wait for a deploy with the assets.
 */
export const commonPasswordsOf = async (env: WorkerEnv, logger: Logger): Promise<CommonPasswords> => {
  try {
    const res = await assetOf(env, COMMON_PASSWORDS_ASSET)
    const words = res === undefined ? undefined : ((await res.json()) as unknown)
    if (Array.isArray(words) && words.length > 0 && words.every((w) => typeof w === 'string')) return new Set(words as string[])
  } catch {
    // Unreadable: refused below, like a missing file.
  }
  logger.error({ asset: COMMON_PASSWORDS_ASSET }, 'the list of common passwords could not be read: every new password is refused')
  return { has: () => true }
}
