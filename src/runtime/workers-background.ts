/**
 * Work a request starts and does not wait for, kept alive on Workers. Two calls are sent without being
 * awaited, so that no request pays for them: the `publish` that tells a channel's sockets of an HTTP
 * write (`services/rendezvous.ts`), and the device's last-seen `touch` (`services/sessions.ts`, the
 * network history "not me" relies on). On Workers a promise still pending when the response is
 * returned may be cancelled unless it is handed to `ctx.waitUntil`: a socket would then not hear of a
 * write it waits for, and a device's network would go unrecorded. The Worker wraps those two ports with
 * {@link BackgroundWork.track} and hands what is pending to the request's `waitUntil` once the app
 * answered. Node keeps such work running by itself and needs none of this.
 *
 * @see https://developers.cloudflare.com/workers/runtime-apis/context/#waituntil
 */

/** What is pending, across the isolate's requests. */
export interface BackgroundWork {
  /** Records `work` until it settles; returns it unchanged (its rejection is still the caller's). */
  track<T>(work: Promise<T>): Promise<T>
  /** Hands everything still pending to `ctx.waitUntil` (nothing when nothing is). */
  keepAlive(ctx: Pick<ExecutionContext, 'waitUntil'>): void
  readonly pending: number
}

/**
 * An empty tracker (one per isolate). Work of another request of the isolate may be handed to this
 * request's `waitUntil` too: that only keeps this request's context a little longer.
 *
 * @example
 * const background = backgroundWork()
 * const events = { ...channelEvents, publish: (id, e) => background.track(channelEvents.publish(id, e)) }
 * const response = await app.fetch(request, env, ctx)
 * background.keepAlive(ctx)
 */
export const backgroundWork = (): BackgroundWork => {
  const pending = new Set<Promise<void>>()
  return {
    track(work) {
      const settled: Promise<void> = work.then(
        () => void pending.delete(settled),
        () => void pending.delete(settled),
      )
      pending.add(settled)
      return work
    },
    keepAlive(ctx) {
      if (pending.size > 0) ctx.waitUntil(Promise.all([...pending]))
    },
    get pending() {
      return pending.size
    },
  }
}
