/**
 * The per-request values middleware puts on the Hono context, typed once for every route.
 */
import type { Logger } from '../ports.ts'

/** Hono environment of the qrelay app. */
export interface AppEnv {
  Variables: {
    /** Random per request; goes in every log line of the request. */
    requestId: string
    /** The client's address as text ('unknown' when the runtime cannot tell). */
    clientAddress: string
    /** The key per-client limits count under (IPv4 address, IPv6 /64). */
    clientKey: string
    /** The client's autonomous system, set on rendezvous requests when a locator knows it. */
    clientAsn: number | undefined
    /** Which API family the route serves (`msc4108`, `msc4388`, `native`…): picks unstable errcodes. */
    flavor: string | undefined
    /** Request-scoped logger (fields never hold bearer values). */
    log: Logger
    /** Keyed hash for bearer values that must be mentioned in logs. */
    redact: (value: string) => string
    /** The request's channel id (a bearer value): logs only ever show it through `redact`. */
    channelId: string | undefined
    /** Why the request was refused (error code and reason), for its access-log line; set by error answers. */
    refusal: { code: string; reason: string | undefined } | undefined
  }
}
