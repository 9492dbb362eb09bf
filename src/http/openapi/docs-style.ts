/** The style sheet of `GET /docs`: system fonts, light and dark, readable at 320 px. */
export const DOCS_CSS = `:root{color-scheme:light dark;--fg:#1a1a1a;--mu:#555;--ac:#0b57d0;--bd:#c4c4c4;--cd:#f3f3f3}
@media (prefers-color-scheme:dark){:root{--fg:#ececec;--mu:#b0b0b0;--ac:#8ab4f8;--bd:#5a5a5a;--cd:#1f1f1f}}
*{box-sizing:border-box}body{margin:0 auto;max-width:60rem;padding:1rem;font-family:system-ui,sans-serif;color:var(--fg);line-height:1.5;min-width:320px}
h1{font-size:1.4rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid var(--bd)}h4{font-size:1rem;margin:.5rem 0}
a,.method{color:var(--ac)}:focus-visible{outline:3px solid var(--ac)}nav ul{display:flex;flex-wrap:wrap;gap:0 1rem;padding:0;list-style:none}
details{border:1px solid var(--bd);border-radius:.4rem;margin:.5rem 0;padding:.5rem}summary{cursor:pointer;overflow-wrap:anywhere}
.method{font-weight:700;text-transform:uppercase}.muted{color:var(--mu)}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem;background:var(--cd);overflow-wrap:anywhere}pre{padding:.5rem;white-space:pre-wrap}
table{border-collapse:collapse;display:block;overflow-x:auto}th,td{border:1px solid var(--bd);padding:.25rem;text-align:left}`
