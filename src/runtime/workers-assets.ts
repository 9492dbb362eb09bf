/**
 * Where the Worker's static assets are (wrangler.toml `[assets]`, written by `scripts/worker-assets.ts`
 * before `wrangler deploy` / `dev` and by the `workers` test project's setup). Content the Worker
 * reads through its `ASSETS` binding instead of carrying it in its script (docs/workers.md).
 */

/** The pages' browser script, served by the app under its content-hashed path. */
export const PAGE_SCRIPT_ASSET = '/assets/pages.js'

/** The table of every OpenAPI operation (`src/http/openapi/document.ts`'s `operationTable`), as JSON. */
export const OPENAPI_TABLE_ASSET = '/assets/openapi-operations.json'
