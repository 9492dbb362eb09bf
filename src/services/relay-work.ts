/**
 * The work queue of one relay socket: frames, events and ticks run one at a time, in arrival order,
 * so that a put's ack always precedes the data that follows it (see `./relay.ts`).
 */

/** Client frames waiting to be handled beyond which the socket is closed (4429). */
const MAX_QUEUED_FRAMES = 32

/**
 * Runs work items one at a time: at once when none is running, else after the running one and those
 * queued before. An item enqueued while another runs, even from inside it, waits its turn. Items are
 * skipped once the socket is closed. An item is a value (a frame's text, an event…), not a closure,
 * and one done synchronously (`handle` returns undefined) lets the next run in the same turn: an idle
 * socket keeps no promise and a frame costs no closure, no queue entry and no promise of its own.
 */
export abstract class SerialWork<Item> {
  /** Items waiting while one runs (made when first needed). */
  private backlog: Item[] | null = null
  private running = false
  private queuedFrames = 0

  /** True once the socket is closed: nothing more runs. */
  protected abstract isClosed(): boolean
  /** Client frames piled up beyond the bound (the socket closes 4429). */
  protected abstract flooded(): void
  /** An item failed (threw, or its promise rejected). */
  protected abstract failed(error: unknown): void
  /** True for an item that is a client frame (bounded by the queue), false for events and ticks. */
  protected abstract isFrame(item: Item): boolean
  /** Does `item`: undefined once done, or a promise that settles when done. */
  protected abstract handle(item: Item): Promise<unknown> | undefined

  protected enqueue(item: Item, fromClient: boolean): void {
    if (this.isClosed()) return
    if (fromClient && this.queuedFrames >= MAX_QUEUED_FRAMES) return void this.flooded()
    if (fromClient) this.queuedFrames++
    if (this.running) {
      if (this.backlog === null) this.backlog = [item]
      else this.backlog.push(item)
      return
    }
    this.running = true
    this.drain(item)
  }

  /** Runs `first`, then the backlog, until it is empty or an item has to wait for a promise. */
  private drain(first: Item): void {
    let item: Item | undefined = first
    while (item !== undefined) {
      let pending: Promise<unknown> | undefined
      try {
        if (!this.isClosed()) pending = this.handle(item)
      } catch (error) {
        this.failed(error)
      }
      if (pending !== undefined) {
        const waited = item
        pending.then(
          () => this.resume(waited),
          (error: unknown) => {
            this.failed(error)
            this.resume(waited)
          },
        )
        return
      }
      item = this.done(item)
    }
  }

  /** An item that waited is done: the next one runs. */
  private resume(item: Item): void {
    const next = this.done(item)
    if (next !== undefined) this.drain(next)
  }

  /** Counts `item` done; the next item, or undefined (then nothing runs any more). */
  private done(item: Item): Item | undefined {
    if (this.isFrame(item)) this.queuedFrames--
    const next = this.backlog?.shift()
    if (next !== undefined) return next
    this.backlog = null
    this.running = false
    return undefined
  }
}
