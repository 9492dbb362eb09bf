/**
 * The work queue of one relay socket: frames, events and ticks run one at a time, in arrival order,
 * so that a put's ack always precedes the data that follows it (see `./relay.ts`).
 */

/** One unit of a socket's work (a frame, an event, a tick). */
export type Task = () => Promise<unknown> | unknown

/** Client frames waiting to be handled beyond which the socket is closed (4429). */
const MAX_QUEUED_FRAMES = 32

/**
 * Runs tasks one at a time: at once when none is running (no promise kept per idle socket, none
 * chained per frame), else at the end of the running drain. A task enqueued while another runs, even
 * from inside it, waits its turn. Tasks are skipped once the socket is closed.
 */
export abstract class SerialWork {
  /** Tasks waiting while one runs; null when none runs. */
  private backlog: Array<{ task: Task; fromClient: boolean }> | null = null
  private queuedFrames = 0

  /** True once the socket is closed: nothing more runs. */
  protected abstract isClosed(): boolean
  /** Client frames piled up beyond the bound (the socket closes 4429). */
  protected abstract flooded(): void
  /** A task threw. */
  protected abstract failed(error: unknown): void

  protected enqueue(task: Task, fromClient: boolean): void {
    if (this.isClosed()) return
    if (fromClient && this.queuedFrames >= MAX_QUEUED_FRAMES) return void this.flooded()
    if (fromClient) this.queuedFrames++
    if (this.backlog !== null) return void this.backlog.push({ task, fromClient })
    this.backlog = []
    void this.drain(task, fromClient)
  }

  private async drain(first: Task, firstFromClient: boolean): Promise<void> {
    let task: Task | undefined = first
    let fromClient = firstFromClient
    while (task !== undefined) {
      try {
        if (!this.isClosed()) await task()
      } catch (error) {
        this.failed(error)
      } finally {
        if (fromClient) this.queuedFrames--
      }
      const next = this.backlog?.shift()
      task = next?.task
      fromClient = next?.fromClient ?? false
    }
    this.backlog = null
  }
}
