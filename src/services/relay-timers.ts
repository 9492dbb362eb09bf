/**
 * The deadlines of every socket of a relay service on one timer of the scheduler: an indexed min-heap
 * of sockets by deadline, and the scheduler's timer set for the earliest. A socket costs two numbers
 * here, where a timer of its own cost a `Timeout` and two closures for the whole life of the socket
 * (BENCHMARKS.md, WebSocket relay, issue 15). Deadlines fire exactly as per-socket timers would: at
 * the earliest deadline, every socket due by then is told, in deadline order.
 */
import type { Clock, Scheduler } from '../ports.ts'

/** A socket as the timers see it: its deadline and place in the heap (-1: none), and what to do at it. */
export interface Timed {
  deadlineAtMs: number
  heapIndex: number
  due(): void
}

/** The shared timers. */
export class DeadlineTimers {
  private readonly heap: Timed[] = []
  private cancel: (() => void) | null = null
  private armedAtMs = Infinity

  constructor(
    private readonly scheduler: Scheduler,
    private readonly clock: Clock,
  ) {}

  /** Sets (or moves) `item`'s deadline. */
  set(item: Timed, atMs: number): void {
    const moved = item.heapIndex >= 0
    item.deadlineAtMs = atMs
    if (!moved) {
      item.heapIndex = this.heap.length
      this.heap.push(item)
    }
    this.siftUp(item.heapIndex)
    if (moved) this.siftDown(item.heapIndex)
    this.arm()
  }

  /** Forgets `item`'s deadline (nothing if it has none). */
  remove(item: Timed): void {
    if (item.heapIndex < 0) return
    this.take(item)
    this.arm()
  }

  /** How many deadlines are set. */
  get size(): number {
    return this.heap.length
  }

  /** The scheduler's timer for the earliest deadline: kept when it fires no later, else replaced. */
  private arm(): void {
    const first = this.heap[0]
    if (first === undefined) {
      this.cancel?.()
      this.cancel = null
      this.armedAtMs = Infinity
      return
    }
    if (this.cancel !== null && this.armedAtMs <= first.deadlineAtMs) return
    this.cancel?.()
    this.armedAtMs = first.deadlineAtMs
    this.cancel = this.scheduler.schedule(Math.max(0, first.deadlineAtMs - this.clock.now()), () => this.fire())
  }

  private fire(): void {
    this.cancel = null
    this.armedAtMs = Infinity
    const now = this.clock.now()
    for (let first = this.heap[0]; first !== undefined && first.deadlineAtMs <= now; first = this.heap[0]) {
      this.take(first)
      first.due()
    }
    this.arm()
  }

  private take(item: Timed): void {
    const index = item.heapIndex
    item.heapIndex = -1
    const last = this.heap.pop() as Timed
    if (last === item) return
    this.heap[index] = last
    last.heapIndex = index
    this.siftUp(index)
    this.siftDown(last.heapIndex)
  }

  private siftUp(start: number): void {
    const { heap } = this
    const item = heap[start] as Timed
    let index = start
    while (index > 0) {
      const parentIndex = (index - 1) >> 1
      const parent = heap[parentIndex] as Timed
      if (parent.deadlineAtMs <= item.deadlineAtMs) break
      heap[index] = parent
      parent.heapIndex = index
      index = parentIndex
    }
    heap[index] = item
    item.heapIndex = index
  }

  private siftDown(start: number): void {
    const { heap } = this
    const item = heap[start] as Timed
    let index = start
    for (;;) {
      const left = 2 * index + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && (heap[right] as Timed).deadlineAtMs < (heap[left] as Timed).deadlineAtMs ? right : left
      const next = heap[child] as Timed
      if (next.deadlineAtMs >= item.deadlineAtMs) break
      heap[index] = next
      next.heapIndex = index
      index = child
    }
    heap[index] = item
    item.heapIndex = index
  }
}
