/**
 * The one style sheet of the pages, served at a content-hashed path with a year-long immutable cache
 * (`/assets/style.<hash>.css`): system fonts, light and dark, usable at 320 px, visible focus rings.
 */
import { hashSecret } from '../../core/crypto/secrets.ts'

const CSS = `:root{color-scheme:light dark;--bg:#fff;--fg:#1a1a1a;--muted:#555;--accent:#0b57d0;--accent-fg:#fff;--warn-bg:#fff4e5;--warn-fg:#5c3200;--border:#c4c4c4;--focus:#0b57d0}
@media (prefers-color-scheme:dark){:root{--bg:#121212;--fg:#ececec;--muted:#b0b0b0;--accent:#8ab4f8;--accent-fg:#0b1a33;--warn-bg:#3a2a10;--warn-fg:#ffe0b2;--border:#5a5a5a;--focus:#8ab4f8}}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;background:var(--bg);color:var(--fg);line-height:1.5;min-width:320px}
header,main,footer{max-width:36rem;margin:0 auto;padding:1rem}
header{display:flex;justify-content:space-between;align-items:center;flex-wrap:wrap;gap:.5rem;border-bottom:1px solid var(--border)}
header .product{font-weight:700;font-size:1.2rem}
nav a{color:var(--accent);margin-left:.5rem}
footer{color:var(--muted);font-size:.875rem;border-top:1px solid var(--border)}
label{display:block;font-weight:600;margin-top:1rem}
input{font:inherit;width:100%;padding:.6rem;border:1px solid var(--border);border-radius:.4rem;background:var(--bg);color:var(--fg)}
input.code{text-transform:uppercase;letter-spacing:.15em;font-family:ui-monospace,monospace}
button{font:inherit;padding:.6rem 1.2rem;border-radius:.4rem;border:1px solid var(--accent);margin:1rem .5rem 0 0;cursor:pointer;background:var(--bg);color:var(--accent)}
button.primary{background:var(--accent);color:var(--accent-fg)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.notice{background:var(--warn-bg);color:var(--warn-fg);padding:.75rem;border-radius:.4rem}
.error{color:#b00020;font-weight:600}
@media (prefers-color-scheme:dark){.error{color:#ff8a80}}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0}
`

/** The style sheet's text. */
export const STYLE_CSS = CSS

/** The path of the style sheet, with the first 16 characters of its SHA-256 (a change is a new URL). */
export const STYLE_PATH = `/assets/style.${hashSecret(CSS).slice(0, 16)}.css`
