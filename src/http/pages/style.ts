/**
 * The one style sheet of the pages, served at a content-hashed path with a year-long immutable cache
 * (`/assets/style.<hash>.css`): system fonts, light and dark, usable at 320 px, visible focus rings.
 */

const CSS = `:root{color-scheme:light dark;--bg:#fff;--fg:#1a1a1a;--muted:#555;--accent:#0b57d0;--accent-fg:#fff;--warn-bg:#fff4e5;--warn-fg:#5c3200;--border:#c4c4c4;--focus:#0b57d0;--danger:#b00020;--ok-bg:#e6f4ea;--ok-fg:#0d3d1f}
@media (prefers-color-scheme:dark){:root{--bg:#121212;--fg:#ececec;--muted:#b0b0b0;--accent:#8ab4f8;--accent-fg:#0b1a33;--warn-bg:#3a2a10;--warn-fg:#ffe0b2;--border:#5a5a5a;--focus:#8ab4f8;--danger:#ff8a80;--ok-bg:#10301c;--ok-fg:#c8efd4}}
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
h2{font-size:1.25rem;margin-top:2rem}h3{font-size:1.05rem;margin:0 0 .5rem}
a{color:var(--accent)}
a.button{display:inline-block;padding:.6rem 1.2rem;border-radius:.4rem;border:1px solid var(--accent);margin:1rem .5rem 0 0;text-decoration:none}
a.button.primary{background:var(--accent);color:var(--accent-fg)}
button.danger{border-color:var(--danger);color:var(--danger)}
.actions{display:flex;flex-wrap:wrap;gap:0 .5rem}.actions button{margin-top:.5rem}
ul.devices{list-style:none;padding:0}ul.devices li{border:1px solid var(--border);border-radius:.4rem;padding:.75rem;margin:.75rem 0}
ul.devices li.current{border-color:var(--accent)}
.badge{font-size:.8rem;font-weight:600;background:var(--accent);color:var(--accent-fg);border-radius:1rem;padding:.1rem .5rem;margin-left:.25rem}
.signed-in{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem}.signed-in button{margin:0}
.done{background:var(--ok-bg);color:var(--ok-fg);padding:.75rem;border-radius:.4rem}
ol.events{padding-left:1.25rem}ol.events time{color:var(--muted);font-size:.875rem;margin-right:.25rem}
label.check{display:flex;gap:.5rem;align-items:center;font-weight:400}label.check input{width:auto}
.help{color:var(--muted);font-size:.875rem;margin:.25rem 0 0}
img.qr{display:block;background:#fff;padding:.5rem;border-radius:.4rem;max-width:100%;height:auto}
p.check-code{font-family:ui-monospace,monospace;font-size:3rem;font-weight:700;letter-spacing:.2em;margin:.5rem 0}
code.key,ol.codes code{font-family:ui-monospace,monospace;font-size:1.05rem;word-break:break-all}
`

/** The style sheet's text. */
export const STYLE_CSS = CSS
