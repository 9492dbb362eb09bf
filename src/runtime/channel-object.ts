/**
 * The Durable Object of one rendezvous channel (named `ch:<id>`): its record in the object's
 * synchronous KV storage, and an alarm at its expiry that frees the storage. Each method is one atomic
 * intent: it only touches its own storage, so the input gate lets no other call in between.
 * Expiry is judged against the caller's clock (`nowMs`), so a record past its expiry is gone at once,
 * whether or not the alarm has run yet.
 */
import { DurableObject } from 'cloudflare:workers'
import { isLive, type ChannelRecord } from '../core/rendezvous/channel.ts'
import type { ChannelObjectApi, TakenChannel } from '../adapters/storage/durable-object.ts'
import type { ReplaceOutcome } from '../ports.ts'

/** What the object stores: the record and the shard holding its live-channel reservation. */
interface Stored {
  record: ChannelRecord
  reservedIn: number
}

const KEY = 'channel'

/** One rendezvous channel. */
export class ChannelObject extends DurableObject<Env> implements ChannelObjectApi {
  #live(nowMs: number): Stored | null {
    const stored = this.ctx.storage.kv.get<Stored>(KEY)
    if (stored === undefined) return null
    if (isLive(stored.record, nowMs)) return stored
    this.ctx.storage.kv.delete(KEY)
    return null
  }

  async #forget(): Promise<void> {
    this.ctx.storage.kv.delete(KEY)
    await this.ctx.storage.deleteAlarm()
  }

  async create(record: ChannelRecord, reservedIn: number, nowMs: number): Promise<'ok' | 'exists'> {
    if (this.#live(nowMs) !== null) return 'exists'
    this.ctx.storage.kv.put<Stored>(KEY, { record, reservedIn })
    await this.ctx.storage.setAlarm(record.expiresAtMs)
    return 'ok'
  }

  async get(nowMs: number): Promise<ChannelRecord | null> {
    return this.#live(nowMs)?.record ?? null
  }

  async replaceIfMatch(expectedRev: number, next: ChannelRecord, nowMs: number): Promise<ReplaceOutcome> {
    const stored = this.#live(nowMs)
    if (stored === null) return 'missing'
    if (stored.record.rev !== expectedRev) return 'mismatch'
    this.ctx.storage.kv.put<Stored>(KEY, { record: next, reservedIn: stored.reservedIn })
    if (next.expiresAtMs !== stored.record.expiresAtMs) await this.ctx.storage.setAlarm(next.expiresAtMs)
    return 'ok'
  }

  async takeOnce(nowMs: number): Promise<TakenChannel | null> {
    const stored = this.#live(nowMs)
    if (stored === null) return null
    await this.#forget()
    return stored
  }

  /** Frees the storage once the record has expired by the object's own clock (early alarms re-arm). */
  override async alarm(): Promise<void> {
    const stored = this.ctx.storage.kv.get<Stored>(KEY)
    if (stored === undefined) return
    if (isLive(stored.record, Date.now())) await this.ctx.storage.setAlarm(stored.record.expiresAtMs)
    else await this.#forget()
  }
}
