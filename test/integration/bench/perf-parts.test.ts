/**
 * The split of `scaling.ts`'s `perf record` samples into the parts of a request's CPU
 * (`bench/relay/perf-parts.ts`), on a hand-written `perf script` text: no perf needed.
 */
import { describe, expect, it } from 'vitest'
import { partsOfScript } from '../../../bench/relay/perf-parts.ts'

const sample = (tid: number, ns: number, ...frames: string[]): string =>
  `${tid}     ${ns} \n${frames.map((f, i) => `\t  ${(0x1000 + i).toString(16)} ${f}`).join('\n')}\n`

const SCRIPT = [
  // A flush from the check phase that woke redis-server, and one that did not.
  sample(
    10,
    250_000,
    'pvm_irq_enable ([kernel.kallsyms])',
    'sock_def_readable ([kernel.kallsyms])',
    '__GI___writev (/usr/lib/libc.so.6)',
    'node::Environment::CheckImmediate (/usr/bin/node)',
  ),
  sample(10, 250_000, 'node::StreamBase::Writev (/usr/bin/node)', 'node::Environment::CheckImmediate (/usr/bin/node)'),
  sample(20, 250_000, 'epoll_pwait (/usr/lib/libc.so.6)', 'uv__io_poll (/usr/bin/node)'),
  sample(20, 500_000, 'JS:*onReply /x/ioredis/built/DataHandler.js:16:22 (/tmp/perf-20.map)'),
  // An answer that woke the client, outside the check phase.
  sample(10, 250_000, 'sock_def_readable ([kernel.kallsyms])', 'JS:*end node:_http_outgoing:1034:45 (/tmp/perf-10.map)'),
  sample(10, 250_000, 'v8::internal::Scavenger::ScavengeObject (/usr/bin/node)'),
  sample(10, 250_000, 'tcp_sendmsg ([kernel.kallsyms])'),
  sample(20, 750_000, 'Builtins_LoadIC (/usr/bin/node)'),
  // A compiler thread: placed by thread, whatever its stack.
  sample(11, 1_000_000, 'epoll_pwait (/usr/lib/libc.so.6)'),
].join('\n')

describe('perf-parts', () => {
  it('puts each sample in the first part its stack belongs to, per request', () => {
    const parts = partsOfScript(SCRIPT, [10, 20], 1000)
    expect(parts).toEqual({
      'other threads (JIT compilers, GC helpers)': 1,
      'Redis flush: waking redis-server': 0.25,
      'Redis flush: the rest (JS, writev, TCP send)': 0.25,
      'waiting: epoll_pwait, the switch away and back': 0.25,
      'Redis replies: read and parse (ioredis)': 0.5,
      'answers: waking the client': 0.25,
      'garbage collection (main thread)': 0.25,
      'the rest of the requests: kernel': 0.25,
      'the rest of the requests: user': 0.75,
      total: 3.75,
    })
  })

  it('skips what is not a sample', () => {
    expect(partsOfScript('\n\nnot a sample\n\n', [1], 1).total).toBe(0)
  })
})
