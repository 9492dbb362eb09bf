/**
 * `matrixWriteView`: what a Matrix write's store outcome answers, shared by the promise path
 * (`rendezvous.ts`) and the in-process one (`rendezvous-now.ts`).
 */
import { describe, expect, it } from 'vitest'
import { RelayError } from '../../../src/core/errors.ts'
import { createChannel, STALE_TOKEN } from '../../../src/core/rendezvous/channel.ts'
import { matrixWriteView, noSuchChannel } from '../../../src/services/rendezvous-access.ts'

const record = createChannel({ id: 'c1', api: 'msc4108', data: 'hello', now: 1_000, ttlMs: 60_000 })

const refusal = (run: () => unknown): RelayError => {
  try {
    run()
  } catch (error) {
    if (error instanceof RelayError) return error
    throw error
  }
  throw new Error('expected a RelayError')
}

describe('matrixWriteView', () => {
  it('a stored write is a changed view of the new record; an idempotent retry an unchanged one', () => {
    expect(matrixWriteView({ outcome: 'written', record })).toEqual({ record, party: 'anyone', changed: true })
    expect(matrixWriteView({ outcome: 'unchanged', record })).toEqual({ record, party: 'anyone', changed: false })
  })

  it('a missing channel is NOT_FOUND, as every other unknown channel', () => {
    const error = refusal(() => matrixWriteView({ outcome: 'missing' }))
    expect(error.code).toBe('NOT_FOUND')
    expect(error.detail).toBe(noSuchChannel().detail)
  })

  it('a busy record and a stale token are CONCURRENT_WRITE; the stale one carries the current record', () => {
    const busy = refusal(() => matrixWriteView({ outcome: 'busy' }))
    expect(busy.code).toBe('CONCURRENT_WRITE')
    expect(busy.cause).toBeUndefined()
    const stale = refusal(() => matrixWriteView({ outcome: 'stale', record }))
    expect(stale.code).toBe('CONCURRENT_WRITE')
    expect(stale.detail).toBe(STALE_TOKEN)
    expect(stale.cause).toBe(record)
  })
})
