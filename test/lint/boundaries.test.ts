/**
 * The boundary rules of biome.jsonc fire: each fixture of test/lint/fixtures/src breaks one rule and
 * must be reported for it, and the clean fixtures must pass. The fixtures are linted in a temporary
 * copy laid out like the repository (biome.jsonc, lint/, src/), so the `src/core/**` and `src/http/**`
 * overrides apply to them exactly as they apply to the real tree.
 */
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const repo = new URL('../..', import.meta.url).pathname
const biome = join(repo, 'node_modules', '.bin', 'biome')

/** One Biome diagnostic as its JSON reporter prints it. */
interface Diagnostic {
  category: string
  message: string
  location: { path: string | { file: string }; start: { line: number } }
}

const pathOf = (d: Diagnostic): string => (typeof d.location.path === 'string' ? d.location.path : d.location.path.file)

let dir = ''
let diagnostics: Diagnostic[] = []

const reported = (file: string): Diagnostic[] => diagnostics.filter((d) => pathOf(d) === file)
const rulesOf = (file: string): string[] => reported(file).map((d) => d.category)

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qrelay-lint-'))
  cpSync(join(repo, 'biome.jsonc'), join(dir, 'biome.jsonc'))
  cpSync(join(repo, 'lint'), join(dir, 'lint'), { recursive: true })
  cpSync(join(repo, 'test', 'lint', 'fixtures', 'src'), join(dir, 'src'), { recursive: true })
  const run = spawnSync(biome, ['lint', '--vcs-enabled=false', '--reporter=json', '--max-diagnostics=none', 'src'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 15_000,
  })
  if (run.error) throw run.error
  diagnostics = (JSON.parse(run.stdout) as { diagnostics: Diagnostic[] }).diagnostics
})

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('src/core stays pure', () => {
  it('imports no node: module', () => {
    expect(rulesOf('src/core/imports-node.ts')).toEqual(['lint/style/noRestrictedImports'])
  })

  it('imports none of hono, @hono/*, ws, ioredis, libsql, pino, maxmind, qrcode', () => {
    const lines = reported('src/core/imports-packages.ts')
      .filter((d) => d.category === 'lint/style/noRestrictedImports')
      .map((d) => d.location.start.line)
    expect(lines).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('imports nothing from the adapters', () => {
    expect(rulesOf('src/core/imports-adapter.ts')).toEqual(['lint/style/noRestrictedImports'])
  })

  it('reads no clock and draws no random numbers (Date.now, new Date(), Math.random, crypto, performance.now)', () => {
    const lines = reported('src/core/clock.ts').map((d) => [d.category, d.location.start.line])
    expect(lines).toEqual([1, 2, 3, 4, 5, 6, 7].map((line) => ['plugin', line]))
    expect(reported('src/core/clock.ts')[0]?.message).toContain('src/core is pure')
  })
})

describe('src/http translates only', () => {
  it('imports no adapter', () => {
    expect(rulesOf('src/http/routes/imports-adapter.ts')).toEqual(['lint/style/noRestrictedImports'])
  })

  it('imports no Clock and no store port from ports.ts, type-only imports included', () => {
    expect(rulesOf('src/http/routes/imports-clock-port.ts')).toEqual(['lint/style/noRestrictedImports'])
    expect(rulesOf('src/http/routes/imports-store-port.ts')).toEqual(['lint/style/noRestrictedImports'])
  })

  it('does not call Date.now()', () => {
    expect(rulesOf('src/http/routes/reads-clock.ts')).toEqual(['plugin'])
  })
})

describe('everywhere', () => {
  it('reports an import cycle on both of its imports', () => {
    expect(rulesOf('src/services/cycle-a.ts')).toEqual(['lint/suspicious/noImportCycles'])
    expect(rulesOf('src/services/cycle-b.ts')).toEqual(['lint/suspicious/noImportCycles'])
  })

  it('reports a floating promise', () => {
    expect(rulesOf('src/core/floating.ts')).toEqual(['lint/nursery/noFloatingPromises'])
  })

  it('reports an empty catch block without a comment', () => {
    expect(rulesOf('src/core/empty-catch.ts')).toEqual(['plugin'])
  })

  it('reports a function of src longer than 60 lines', () => {
    expect(rulesOf('src/services/long-function.ts')).toEqual(['lint/complexity/noExcessiveLinesPerFunction'])
  })

  it('passes the clean files: the time as a parameter, a commented catch, a no-op, a voided promise, plain port types', () => {
    expect(reported('src/core/clean.ts')).toEqual([])
    expect(reported('src/http/routes/clean.ts')).toEqual([])
    expect(reported('src/ports.ts')).toEqual([])
    expect(reported('src/adapters/memory-kv.ts')).toEqual([])
  })
})
