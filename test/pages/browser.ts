/**
 * Chromium for the page tests: Debian's `chromium` driven by playwright-core. Absent outside CI, the
 * suites skip with a message; in CI (`CI=true`) a missing browser is a failure (`.ci/run` installs it).
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => p !== undefined)

/** The Chromium executable, if one is installed. */
export const chromiumPath = CANDIDATES.find((path) => existsSync(path))

/** Whether the browser suites run here (they fail in CI without a browser rather than skip). */
export const browserAvailable = chromiumPath !== undefined || process.env.CI === 'true'

if (!browserAvailable) console.warn('pages tests skipped: no chromium (apt-get install chromium, or set CHROMIUM_PATH)')

/** Launches headless Chromium. */
export const launchChromium = (): Promise<Browser> => {
  if (chromiumPath === undefined) throw new Error('chromium is not installed: apt-get install chromium (CI requires it)')
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] })
}
