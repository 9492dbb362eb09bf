/**
 * A minimal MaxMind DB writer for tests (format 2.0, IPv4 trees, 24-bit records): enough to build a
 * tiny city or ASN database with a few networks, so the mmdb locator is tested against real files
 * read by the real `maxmind` reader. Values: strings, numbers (doubles, or uint32 when integral and
 * `asUint` says so), and maps.
 *
 * @see https://maxmind.github.io/MaxMind-DB/
 */

type Value = string | number | { [key: string]: Value } | Value[]

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Control byte(s) of a field of `type` (1–15) and `size`. */
const control = (type: number, size: number): Uint8Array => {
  const sizeBytes: number[] = []
  let sizeBits = size
  if (size >= 29 && size < 285) {
    sizeBits = 29
    sizeBytes.push(size - 29)
  } else if (size >= 285) {
    throw new Error('mmdb-writer: field too large for this test writer')
  }
  if (type <= 7) return Uint8Array.from([(type << 5) | sizeBits, ...sizeBytes])
  return Uint8Array.from([sizeBits, type - 7, ...sizeBytes])
}

const uintBytes = (n: number): Uint8Array => {
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256)
  return Uint8Array.from(bytes)
}

const encode = (value: Value, uintKeys: ReadonlySet<string>, key = ''): Uint8Array => {
  if (typeof value === 'string') {
    const bytes = new TextEncoder().encode(value)
    return concat([control(2, bytes.length), bytes])
  }
  if (typeof value === 'number') {
    if (uintKeys.has(key)) {
      const bytes = uintBytes(value)
      return concat([
        control(
          key === 'build_epoch' ? 9 : value < 65536 && key !== 'node_count' && key !== 'autonomous_system_number' ? 5 : 6,
          bytes.length,
        ),
        bytes,
      ])
    }
    const bytes = new Uint8Array(8)
    new DataView(bytes.buffer).setFloat64(0, value)
    return concat([control(3, 8), bytes])
  }
  if (Array.isArray(value)) return concat([control(11, value.length), ...value.map((v) => encode(v, uintKeys))])
  const entries = Object.entries(value)
  return concat([control(7, entries.length), ...entries.flatMap(([k, v]) => [encode(k, uintKeys), encode(v, uintKeys, k)])])
}

const UINT_KEYS = new Set([
  'node_count',
  'record_size',
  'ip_version',
  'binary_format_major_version',
  'binary_format_minor_version',
  'build_epoch',
  'autonomous_system_number',
])

/**
 * Builds a database of IPv4 `networks` (CIDR → record).
 *
 * @example
 * writeMmdb('GeoLite2-City', { '203.0.113.0/24': { location: { latitude: 40.7, longitude: -74 } } })
 */
export const writeMmdb = (databaseType: string, networks: Record<string, Value>): Uint8Array => {
  const EMPTY = -1
  const nodes: Array<[number, number]> = [[EMPTY, EMPTY]]
  const dataParts: Uint8Array[] = []
  let dataLength = 0
  // Record markers: >= 0 node index; <= -2 data offset (-2 - offset).
  for (const [cidr, record] of Object.entries(networks)) {
    const [address, bitsText] = cidr.split('/') as [string, string]
    const bits = Number(bitsText)
    const octets = address.split('.').map(Number)
    const ip = (((octets[0] ?? 0) << 24) >>> 0) + ((octets[1] ?? 0) << 16) + ((octets[2] ?? 0) << 8) + (octets[3] ?? 0)
    const encoded = encode(record, UINT_KEYS)
    const offset = dataLength
    dataParts.push(encoded)
    dataLength += encoded.length
    let node = 0
    for (let i = 0; i < bits; i++) {
      const bit = (ip >>> (31 - i)) & 1
      const last = i === bits - 1
      const current = nodes[node] as [number, number]
      if (last) {
        current[bit] = -2 - offset
      } else {
        if ((current[bit] as number) < 0) {
          nodes.push([EMPTY, EMPTY])
          current[bit] = nodes.length - 1
        }
        node = current[bit] as number
      }
    }
  }
  const nodeCount = nodes.length
  const recordValue = (r: number): number => (r === EMPTY ? nodeCount : r >= 0 ? r : nodeCount + 16 + (-2 - r))
  const tree = new Uint8Array(nodeCount * 6)
  nodes.forEach(([left, right], i) => {
    for (const [j, r] of [left, right].entries()) {
      const v = recordValue(r)
      tree.set([(v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff], i * 6 + j * 3)
    }
  })
  const metadata = encode(
    {
      node_count: nodeCount,
      record_size: 24,
      ip_version: 4,
      database_type: databaseType,
      languages: ['en'],
      binary_format_major_version: 2,
      binary_format_minor_version: 0,
      build_epoch: 1_700_000_000,
      description: { en: 'qrelay test database' },
    },
    UINT_KEYS,
  )
  const marker = concat([Uint8Array.from([0xab, 0xcd, 0xef]), new TextEncoder().encode('MaxMind.com')])
  return concat([tree, new Uint8Array(16), ...dataParts, marker, metadata])
}
