/**
 * Where the Worker's static assets are (wrangler.toml `[assets]`, written by `scripts/worker-assets.ts`
 * before `wrangler deploy` / `dev` and by the `workers` test project's setup). Content the Worker
 * reads through its `ASSETS` binding instead of carrying it in its script (docs/workers.md).
 */

/** The pages' browser script, served by the app under its content-hashed path. */
export const PAGE_SCRIPT_ASSET = '/assets/pages.js'

/** The table of every OpenAPI operation (`src/http/openapi/document.ts`'s `operationTable`), as JSON. */
export const OPENAPI_TABLE_ASSET = '/assets/openapi-operations.json'

/** The pages' catalogs, style sheet and feed script (`src/http/pages/page-content.ts`), as JSON. */
export const PAGE_CONTENT_ASSET = '/assets/page-content.json'

/** The `/docs` page's style sheet (`src/http/openapi/docs-style.ts`). */
export const DOCS_STYLE_ASSET = '/assets/docs.css'

/** The list of common passwords (`src/core/auth/common-passwords.ts`), as a JSON array. */
export const COMMON_PASSWORDS_ASSET = '/assets/common-passwords.json'
