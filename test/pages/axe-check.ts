/**
 * axe-core on a page as it is now, in the light and the dark colour scheme: the serious and critical
 * violations found. The page's context needs `bypassCSP: true` (axe is injected as an inline script).
 */
import axe from 'axe-core'
import type { Page } from 'playwright-core'

/** One kind of violation axe found, with how many elements have it. */
export interface AxeFinding {
  id: string
  impact: string | null | undefined
  nodes: number
}

/** Runs axe on `page` in both colour schemes; returns the serious and critical violations by scheme (empty when none). */
export const seriousAxeViolations = async (page: Page): Promise<Partial<Record<'light' | 'dark', AxeFinding[]>>> => {
  const problems: Partial<Record<'light' | 'dark', AxeFinding[]>> = {}
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme })
    if ((await page.evaluate(() => typeof (window as { axe?: unknown }).axe)) === 'undefined')
      await page.addScriptTag({ content: axe.source })
    const found = await page.evaluate(async () => {
      const result = await (window as unknown as { axe: typeof axe }).axe.run(document, { resultTypes: ['violations'] })
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }))
    })
    const bad = found.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    if (bad.length > 0) problems[colorScheme] = bad
  }
  await page.emulateMedia({ colorScheme: 'light' })
  return problems
}
