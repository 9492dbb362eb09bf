/**
 * The slice of autocannon's API (v9, which ships no types) that the relay benchmark uses.
 *
 * @see https://github.com/mcollina/autocannon#api
 */
declare module 'autocannon' {
  interface RawRequest {
    method?: string
    path?: string
    body?: string
    headers?: Record<string, string>
  }
  interface SequenceRequest extends RawRequest {
    /** Returns the request to send, or a falsy value to restart the sequence. */
    setupRequest?: (request: RawRequest, context: any) => RawRequest | null | undefined
    onResponse?: (status: number, body: string, context: any, headers: Record<string, string>) => void
  }
  interface Options {
    url: string
    connections?: number
    duration?: number
    /** Total requests to send (instead of a duration). */
    amount?: number
    pipelining?: number
    requests?: SequenceRequest[]
  }
  interface Histogram {
    average: number
    total: number
    p50: number
    p99: number
  }
  interface Result {
    duration: number
    requests: Histogram
    latency: Histogram
    non2xx: number
    errors: number
    timeouts: number
    resets: number
    statusCodeStats?: Record<string, { count: number }>
  }
  function autocannon(options: Options): Promise<Result>
  export default autocannon
}
