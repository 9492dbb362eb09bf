/**
 * The documentation lives in the repository and holds together: every relative link of every
 * Markdown file resolves to a file of the repository (and, for a `#fragment` into Markdown, to one of
 * its headings, as GitHub makes anchors of them), nothing points outside the repository, and the
 * README stays a front page (at most 150 lines).
 *
 * @see https://docs.github.com/en/get-started/writing-on-github/getting-started-with-writing-and-formatting-on-github/basic-writing-and-formatting-syntax#section-links
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git', '.wrangler', 'data', 'coverage'])

const markdownFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) || entry.name.startsWith('.') ? [] : markdownFiles(join(dir, entry.name))
    return entry.name.endsWith('.md') ? [join(dir, entry.name)] : []
  })

/** Markdown without its fenced code blocks (a link-like text in a code sample is not a link). */
const proseOf = (markdown: string): string => markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')

/** Inline links and images `[text](target)`, and reference definitions `[id]: target`. */
const linksOf = (markdown: string): string[] => {
  const prose = proseOf(markdown).replace(/`[^`\n]*`/g, '')
  const inline = [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!)
  const defined = [...prose.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]!)
  return [...inline, ...defined]
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
const anchorsOf = (markdown: string): Set<string> => {
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  for (const [, text] of proseOf(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = text!
      .replace(/`/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

const isExternal = (target: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(target)

const files = markdownFiles(ROOT)

describe('documentation links', () => {
  it('finds the documents', () => {
    const names = files.map((file) => relative(ROOT, file))
    for (const expected of ['README.md', 'SECURITY.md', 'CONTRIBUTING.md', 'docs/configuration.md', 'docs/deploy.md']) {
      expect(names).toContain(expected)
    }
  })

  it.each(files.map((file) => [relative(ROOT, file), file]))('%s: every relative link resolves inside the repository', (_, file) => {
    const markdown = readFileSync(file, 'utf8')
    const broken: string[] = []
    for (const target of linksOf(markdown)) {
      if (isExternal(target)) continue
      const [path = '', fragment] = target.split('#', 2) as [string, string | undefined]
      const resolved = path === '' ? file : resolve(dirname(file), decodeURIComponent(path))
      if (relative(ROOT, resolved).startsWith('..')) {
        broken.push(`${target} (outside the repository)`)
        continue
      }
      if (!existsSync(resolved)) {
        broken.push(`${target} (no such file)`)
        continue
      }
      if (fragment !== undefined && resolved.endsWith('.md') && statSync(resolved).isFile()) {
        if (!anchorsOf(readFileSync(resolved, 'utf8')).has(fragment)) broken.push(`${target} (no such heading)`)
      }
    }
    expect(broken).toEqual([])
  })

  it('keeps the README a front page: at most 150 lines', () => {
    const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length
    expect(lines).toBeLessThanOrEqual(150)
  })
})
