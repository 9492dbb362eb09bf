/**
 * Runs one race: prepares the contested thing, fires every attempt at once, and sorts the answers
 * into the one winner, documented losers (counted by status and code) and anything else.
 */
import type { Answer } from '../helpers/account-client.ts'
import { prepareIntent, type IntentName } from './intents.ts'
import type { RaceTarget } from './target.ts'

/** The outcome of one race. */
export interface RaceResult {
  store: string
  intent: IntentName
  attempts: number
  winners: number
  /** Documented refusals, by "status code". */
  losers: Record<string, number>
  /** Answers that are neither a win nor a documented refusal, by "status code" (must stay empty). */
  unexpected: Record<string, number>
  /** Problems found after the race (minted twice, family revoked, …). */
  problems: string[]
  /** Time of the attempts alone, in ms. */
  ms: number
}

const keyOf = (a: Answer): string => {
  const description = String(a.body.error_description ?? '')
  const raced =
    a.body.error !== 'invalid_grant'
      ? ''
      : /concurrent request/.test(description)
        ? ' (raced)'
        : /already used: the session/.test(description)
          ? ' (reused)'
          : /^the session is revoked$/.test(description)
            ? ' (revoked)'
            : ''
  return `${a.status} ${String(a.body.qrelay_code ?? a.body.error ?? a.body.errcode ?? '')}${raced}`.trim()
}

const bump = (counts: Record<string, number>, key: string): void => {
  counts[key] = (counts[key] ?? 0) + 1
}

/** Races `n` concurrent attempts of `intent` on `target`. */
export const race = async (target: RaceTarget, intent: IntentName, n: number): Promise<RaceResult> => {
  const prepared = await prepareIntent(intent, target, n)
  const started = performance.now()
  const answers = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      prepared.attempt(i).catch((error: unknown) => {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause
        return {
          status: 0,
          body: { error: `thrown: ${String(error)}${cause === undefined ? '' : ` (${cause.code ?? cause.message ?? ''})`}` },
        }
      }),
    ),
  )
  const ms = performance.now() - started
  const winners: Answer[] = []
  const losers: Record<string, number> = {}
  const unexpected: Record<string, number> = {}
  for (const a of answers) {
    const first = winners[0]
    if (prepared.isWin(a) && first !== undefined && prepared.isSameOutcome?.(first, a) === true)
      bump(losers, '200 idempotent duplicate (same outcome)')
    else if (prepared.isWin(a)) winners.push(a)
    else if (prepared.isDocumentedLoss(a)) bump(losers, keyOf(a))
    else bump(unexpected, a.status === 0 ? keyOf(a) : `${keyOf(a)} ${String(a.body.error ?? '').slice(0, 80)}`)
  }
  let problems: string[] = []
  if (winners.length === 1) {
    try {
      problems = await prepared.after(winners, answers)
    } catch (error) {
      problems = [`the check after the race failed: ${String(error)}`]
    }
  }
  return { store: target.label, intent, attempts: n, winners: winners.length, losers, unexpected, problems, ms }
}

/** Whether a result is what the intent promises: one winner, documented losers, nothing twice. */
export const isClean = (r: RaceResult): boolean => r.winners === 1 && Object.keys(r.unexpected).length === 0 && r.problems.length === 0

const split = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${v}× ${k}`)
    .join(', ') || '–'

/** A Markdown table of results. */
export const table = (results: readonly RaceResult[]): string => {
  const rows = results.map(
    (r) =>
      `| ${r.store} | ${r.intent} | ${r.attempts} | ${r.winners} | ${split(r.losers)} | ${Math.max(0, r.winners - 1)} | ${split(r.unexpected)}${r.problems.length ? `; ${r.problems.join('; ')}` : ''} | ${Math.round(r.ms)} |`,
  )
  return [
    '| store | intent | attempts | winners | losers (status code) | double wins | other answers / problems | time (ms) |',
    '|---|---|---:|---:|---|---:|---|---:|',
    ...rows,
  ].join('\n')
}
