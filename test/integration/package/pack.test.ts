/**
 * The package as a consumer gets it: `npm pack` (which builds dist/ through `prepack`), the tarball
 * unpacked into a temporary project's node_modules (its dependencies are the repository's
 * node_modules, linked: the test stays offline), then `qrelay/client` used from Node against a relay
 * started here, and bundled for a browser with esbuild.
 *
 * @see ../../../README.md#use-as-a-package
 */
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config.ts'
import { startNodeServer } from '../../../src/runtime/node-server.ts'
import { silentLogger } from '../../../src/adapters/platform/node.ts'
import { withDistLock } from '../../helpers/dist-lock.ts'

const ROOT = resolve(import.meta.dirname, '../../..')

/** Creates a channel with the installed SDK, scans it as the other device, prints both states. */
const NODE_SCRIPT = `
import { ExistingDevice, NewDevice, isClientError } from 'qrelay/client'
import { startNodeServer } from 'qrelay'
const baseUrl = process.argv[2]
const shown = await NewDevice.showQr({ baseUrl })
const scan = await ExistingDevice.scanQr(shown.qrLink, { baseUrl })
console.log(JSON.stringify({ shown: shown.status, scan: scan.status, guard: typeof isClientError, server: typeof startNodeServer }))
// The channel stays open on both ends (polling timers): done here.
process.exit(0)
`

describe('npm pack → install → use', { timeout: 90_000 }, () => {
  let dir: string
  let project: string
  let server: Awaited<ReturnType<typeof startNodeServer>>

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qrelay-pack-'))
    const packed = await withDistLock(
      () =>
        execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
          cwd: ROOT,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }),
      120_000,
    )
    const [tarball] = JSON.parse(packed) as { filename: string }[]
    project = join(dir, 'project')
    const installed = join(project, 'node_modules', 'qrelay')
    mkdirSync(installed, { recursive: true })
    execFileSync('tar', ['-xzf', join(dir, (tarball as { filename: string }).filename), '-C', installed, '--strip-components=1'])
    symlinkSync(join(ROOT, 'node_modules'), join(installed, 'node_modules'))
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
    server = await startNodeServer(parseConfig({ QRELAY_PORT: '0', QRELAY_DATA_DIR: join(dir, 'data') }), { logger: silentLogger })
    // `npm pack` builds dist/ first (esbuild and the .d.ts files): tens of seconds on a busy machine.
  }, 180_000)

  afterAll(async () => {
    await server?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('ships ESM and .d.ts for both entries, the CLI and the LICENSE', () => {
    const pkg = join(project, 'node_modules', 'qrelay')
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/client/index.js',
      'dist/client/index.d.ts',
      'dist/runtime/cli.js',
      'LICENSE',
    ]) {
      expect(existsSync(join(pkg, file)), file).toBe(true)
    }
  })

  it("runs the operator CLI from the package's bin", () => {
    // The bin is the bundle dist/runtime/cli.js: its version comes from the package's own package.json.
    const bin = join(project, 'node_modules', 'qrelay', 'dist', 'runtime', 'cli.js')
    const env = { ...process.env, QRELAY_DATA_DIR: join(dir, 'cli-data') }
    const run = (...args: string[]): string =>
      execFileSync(process.execPath, [bin, ...args], { cwd: project, env, encoding: 'utf8', timeout: 20_000 })
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    expect(run('--version').trim()).toBe(version)
    expect(run('config', 'check')).toContain('configuration ok')
  })

  it('creates and scans a channel with qrelay/client from Node', async () => {
    const script = join(project, 'use.mjs')
    writeFileSync(script, NODE_SCRIPT)
    // Asynchronous: the relay answering it runs in this process.
    const { stdout: out } = await promisify(execFile)(process.execPath, [script, server.url], {
      cwd: project,
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(JSON.parse(out)).toEqual({ shown: 'waiting', scan: 'waiting', guard: 'function', server: 'function' })
  })

  it('bundles qrelay/client for a browser without node: imports', async () => {
    const entry = join(project, 'browser.mjs')
    writeFileSync(entry, "import { NewDevice, ExistingDevice } from 'qrelay/client'\nglobalThis.devices = [NewDevice, ExistingDevice]\n")
    const result = await build({
      entryPoints: [entry],
      absWorkingDir: project,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    })
    const text = result.outputFiles[0]?.text ?? ''
    expect(text.length).toBeGreaterThan(1000)
    expect(text).not.toMatch(/from\s*["']node:|require\(["']node:/)
  })
})
