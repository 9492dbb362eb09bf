/**
 * The fast path's MSC4388 requests answered without a promise where the rendezvous service answers
 * at once (`rendezvousNow`: the memory store, metrics off): the same request context, route steps, answer
 * and access line as `node-fast-path.ts`'s `serve`, in the same order, with the body read by callbacks
 * and each service step a plain call (a request without a body is taken up on the next tick, as the
 * promises of the other path would). A step that has to wait (an abuse guard, keys still loading)
 * answers a promise, and the request is ended when it settles.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Caller } from '../services/rendezvous.ts'
import type { Now, RendezvousNow } from '../services/rendezvous-now.ts'
import type { Services } from '../services/services.ts'
import type { FastContext, FastContexts } from './node-fast-context.ts'
import { type BodySink, drainUnread, fastRequest, msc4388NowRoutes, type FastRequest } from './node-fast-routes.ts'

/** What the fast path lends: its request contexts, its answers and what it does when an answer cannot be written. */
export interface FastAnswers {
  contexts: FastContexts
  /** The route a request is logged under: the create route for '' (a create), else the channel route. */
  routeOf(id: string): string
  /** Writes a 200 with `body`. */
  ok(outgoing: ServerResponse, context: FastContext, body: string): void
  /** Writes the error answer of `error`; its status. */
  fail(outgoing: ServerResponse, context: FastContext, error: unknown): number
  /** The answer could not be written (the socket went away). */
  lost(outgoing: ServerResponse, error: unknown): void
}

const NO_BODY = new Uint8Array(0)

/** Serves one request the fast path took (method and id as its matcher found them); throws only what `lost` handles. */
export type AnswerNow = (incoming: IncomingMessage, outgoing: ServerResponse, method: string, id: string) => void

/**
 * The requests answered at once on `now`.
 *
 * @example
 * const answer = answersNow(rendezvousNow(services.rendezvous.inProcessParts)!, services, maxBodyBytes, answers)
 * answer(req, res, 'GET', id)
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: factory: the exchange, its ending and the entry share the routes and the answers; each is under 30 lines
export const answersNow = (now: RendezvousNow, services: Services, maxBodyBytes: number, answers: FastAnswers): AnswerNow => {
  const { contexts, fail, lost } = answers
  const { stopwatch } = services
  const routes = msc4388NowRoutes(now, services.rendezvous, maxBodyBytes)

  /** One request on its way; the sink of its body. */
  class Exchange implements BodySink {
    readonly request: FastRequest
    readonly caller: Caller
    constructor(
      readonly incoming: IncomingMessage,
      readonly outgoing: ServerResponse,
      readonly method: string,
      readonly id: string,
      readonly context: FastContext,
      readonly elapsedMs: () => number,
    ) {
      this.request = fastRequest(incoming)
      this.caller = { clientKey: context.clientKey, address: context.clientAddress }
    }
    /** A create or a write on the whole body. */
    body(bytes: Uint8Array): void {
      let result: Now<string>
      try {
        const json = routes.json(bytes)
        result = this.method === 'POST' ? routes.create(json, this.caller) : routes.write(json, this.id, this.caller)
      } catch (error) {
        end(this, undefined, error)
        return
      }
      endWith(this, result)
    }
    failed(error: unknown): void {
      end(this, undefined, error)
    }
  }

  /** The answer (a 200 with `body`, else the error answer of `error`), the drain of an unread body, the access line. */
  const end = (x: Exchange, body: string | undefined, error: unknown): void => {
    let status = 200
    try {
      if (body === undefined) status = fail(x.outgoing, x.context, error)
      else {
        try {
          answers.ok(x.outgoing, x.context, body)
        } catch (thrown) {
          status = fail(x.outgoing, x.context, thrown)
        }
      }
      // A body the answer did not need (a refusal before reading, a DELETE's) is drained as the app drains it.
      if (!x.request.bodyRead && x.method !== 'GET') drainUnread(x.incoming)
      contexts.finish(x.context, status, x.elapsedMs, undefined)
    } catch (thrown) {
      lost(x.outgoing, thrown)
    }
  }

  const endWith = (x: Exchange, result: Now<string>): void => {
    if (typeof result === 'string') end(x, result, undefined)
    else
      result.then(
        (body) => end(x, body, undefined),
        (error: unknown) => end(x, undefined, error),
      )
  }

  /** A GET or a DELETE. */
  const answerBodiless = (x: Exchange): void => {
    let result: Now<string>
    try {
      result = x.method === 'GET' ? routes.read(x.request, x.id, x.caller, x.context) : routes.remove(x.id, x.caller, x.context)
    } catch (error) {
      end(x, undefined, error)
      return
    }
    endWith(x, result)
  }
  const refuse = (x: Exchange, error: unknown): void => end(x, undefined, error)
  const emptyBody = (x: Exchange): void => x.body(NO_BODY)

  // No answer is written inside the request event: as on the asynchronous path, it waits until the
  // parser is done with the bytes at hand (a request followed by bytes the parser refuses gets the
  // parser's 400 and nothing else: test/fuzz/pinned-suite.ts). A body's answer comes from its 'end'
  // event, which is always emitted on a later tick.
  return (incoming, outgoing, method, id) => {
    const elapsedMs = stopwatch()
    const context = contexts.begin(incoming, method, answers.routeOf(id))
    const x = new Exchange(incoming, outgoing, method, id, context, elapsedMs)
    if (method === 'GET' || method === 'DELETE') {
      process.nextTick(answerBodiless, x)
      return
    }
    // The Hono route of a write names the channel before it reads the body.
    if (method === 'PUT') context.channelId = id
    try {
      routes.takesJson(x.request)
    } catch (error) {
      process.nextTick(refuse, x, error)
      return
    }
    // A declared empty body is not read (as `readTextCapped` does not).
    if (incoming.headers['content-length'] === '0') process.nextTick(emptyBody, x)
    else x.request.readBody(x)
  }
}
