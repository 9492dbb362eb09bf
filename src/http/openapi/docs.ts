/** The `/docs` page in one module, for the runtime to load lazily (Node) or bundle (the Worker). */
export { renderDocsPage } from './docs-page.tsx'
export { DOCS_CSS } from './docs-style.ts'
