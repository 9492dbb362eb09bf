/**
 * `GET /docs`: the API reference, rendered on the server from the OpenAPI document (no script, no
 * third-party origin): operations grouped by tag, each with its security, parameters, request body
 * and responses. Readable at 320 px and in dark mode (`docs-style.ts`). Sent with the pages' strict
 * headers, minus any script source: the page has none.
 */
import type { Context } from 'hono'

type Json = Record<string, unknown>

/** The page's CSP: nothing but its own style sheet. */
const DOCS_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

const asJson = (value: unknown): Json => (typeof value === 'object' && value !== null ? (value as Json) : {})

/** Each media type of a `content` map with its schema (JSON, indented). */
const Content = (props: { content: unknown }) => (
  <>
    {Object.entries(asJson(props.content)).map(([type, media]) => (
      <pre>{`${type}${asJson(media).schema === undefined ? '' : `\n${JSON.stringify(asJson(media).schema, null, 2)}`}`}</pre>
    ))}
  </>
)

const Operation = (props: { method: string; path: string; op: Json }) => {
  const { method, path, op } = props
  const security = ((op.security as Json[] | undefined) ?? []).map((s) => Object.keys(s)[0] ?? 'none').join(' or ')
  const parameters = (op.parameters as Json[] | undefined) ?? []
  const body = asJson(op.requestBody)
  return (
    <details id={String(op.operationId)}>
      <summary>
        <span class="method">{method}</span> <code>{path}</code> <span class="muted">{String(op.summary)}</span>
      </summary>
      {op.description === undefined ? null : <p>{String(op.description)}</p>}
      {security === '' ? null : <p>Security: {security}</p>}
      {parameters.length === 0 ? null : (
        <>
          <h4>Parameters</h4>
          <ul>
            {parameters.map((p) => (
              <li>
                <code>{String(p.name)}</code> ({String(p.in)}
                {p.required === true ? ', required' : ''}) <code>{JSON.stringify(p.schema)}</code> {String(p.description ?? '')}
              </li>
            ))}
          </ul>
        </>
      )}
      {body.content === undefined ? null : (
        <>
          <h4>Request body{body.required === true ? ' (required)' : ''}</h4>
          <Content content={body.content} />
        </>
      )}
      <h4>Responses</h4>
      {Object.entries(asJson(op.responses)).map(([status, response]) => (
        <>
          <h4>
            {status} <span class="muted">{String(asJson(response).description)}</span>
            {asJson(response).headers === undefined ? '' : ` · headers: ${Object.keys(asJson(asJson(response).headers)).join(', ')}`}
          </h4>
          <Content content={asJson(response).content} />
        </>
      ))}
    </details>
  )
}

/** The operations of `document`, grouped by their first tag, in document order. */
const byTag = (document: Json): Map<string, { method: string; path: string; op: Json }[]> => {
  const groups = new Map<string, { method: string; path: string; op: Json }[]>()
  for (const [path, item] of Object.entries(asJson(document.paths))) {
    for (const [method, op] of Object.entries(asJson(item))) {
      const tag = String((asJson(op).tags as string[] | undefined)?.[0] ?? 'Other')
      groups.set(tag, [...(groups.get(tag) ?? []), { method, path, op: asJson(op) }])
    }
  }
  return groups
}

const anchor = (tag: string): string => `tag-${tag.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`

const Page = (props: { document: Json }) => {
  const info = asJson(props.document.info)
  const groups = byTag(props.document)
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${String(info.title)} API reference`}</title>
        <link rel="stylesheet" href="/docs/style.css" />
        <link rel="icon" href="data:," />
      </head>
      <body>
        <header>
          <h1>{`${String(info.title)} API reference`}</h1>
          <p class="muted">
            Version {String(info.version)}. Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).
          </p>
          <nav aria-label="Tags">
            <ul>
              {[...groups.keys()].map((tag) => (
                <li>
                  <a href={`#${anchor(tag)}`}>{tag}</a>
                </li>
              ))}
            </ul>
          </nav>
        </header>
        <main>
          {[...groups.entries()].map(([tag, ops]) => (
            <section id={anchor(tag)}>
              <h2>{tag}</h2>
              {ops.map((o) => (
                <Operation method={o.method} path={o.path} op={o.op} />
              ))}
            </section>
          ))}
        </main>
      </body>
    </html>
  )
}

/** The page of each document, rendered once: anyone may ask for it, and it is the same every time (finding 66). */
const rendered = new WeakMap<Json, string>()

/**
 * Answers the page for `document` (rendered on its first request, then the same text).
 *
 * @example
 * app.get('/docs', async (c) => renderDocsPage(c, await documentOf()))
 */
export const renderDocsPage = (c: Context, document: Json): Response | Promise<Response> => {
  c.header('Content-Security-Policy', DOCS_CSP)
  c.header('X-Content-Type-Options', 'nosniff')
  c.header('Referrer-Policy', 'no-referrer')
  c.header('X-Frame-Options', 'DENY')
  c.header('Cache-Control', 'no-store')
  let html = rendered.get(document)
  if (html === undefined) {
    html = `<!doctype html>${String(<Page document={document} />)}`
    rendered.set(document, html)
  }
  return c.html(html)
}
