/**
 * Differential test: the address code in src/core/policy (ip-address.ts, ip-text.ts via network.ts)
 * against ipaddr.js 2.5, which network.ts used before. Addresses and network keys are stored as rate
 * limit and abuse counter keys, so their text must stay byte-identical.
 */
import ipaddr from 'ipaddr.js'
import { describe, expect, it } from 'vitest'
import { inAnyRange, isLoopback, parseAddress, parseCidr, prefixOf, rateKeyOf, type Cidr } from '../../../../src/core/policy/network.ts'

type Ref = ipaddr.IPv4 | ipaddr.IPv6

/** network.ts as it was with ipaddr.js. */
const ref = {
  parseAddress: (text: string): Ref | null => {
    const trimmed = text.trim().replace(/^\[(.*)\]$/, '$1')
    return ipaddr.isValid(trimmed) ? ipaddr.process(trimmed) : null
  },
  parseCidr: (text: string): [Ref, number] | null => {
    const value = text.trim()
    if (!value.includes('/')) {
      const addr = ref.parseAddress(value)
      return addr === null ? null : [addr, addr.kind() === 'ipv4' ? 32 : 128]
    }
    let parsed: [Ref, number]
    try {
      parsed = ipaddr.parseCIDR(value)
    } catch {
      return null
    }
    const [addr, bits] = parsed
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96]
    }
    return [addr, bits]
  },
  inAnyRange: (addr: Ref, ranges: readonly [Ref, number][]): boolean =>
    ranges.some(([base, bits]) => base.kind() === addr.kind() && addr.match(base, bits)),
  prefixOf: (addr: Ref, v4: number, v6: number): string => {
    const bits = addr.kind() === 'ipv4' ? v4 : v6
    const masked = addr.toByteArray().map((byte, i) => {
      const keep = Math.min(8, Math.max(0, bits - i * 8))
      return keep === 0 ? 0 : byte & (0xff << (8 - keep))
    })
    return `${ipaddr.fromByteArray(masked).toString()}/${bits}`
  },
}
const refRateKey = (addr: Ref): string => (addr.kind() === 'ipv4' ? addr.toString() : ref.prefixOf(addr, 32, 64))

const cidrText = (c: readonly [{ toString(): string; kind(): string }, number] | null): string | null =>
  c === null ? null : `${c[0].kind()} ${c[0].toString()}/${c[1]}`

/** Compares every function on one text; returns the differences (empty when none). */
const differences = (text: string): string[] => {
  const out: string[] = []
  const mine = parseAddress(text)
  const theirs = ref.parseAddress(text)
  const a = mine === null ? null : `${mine.kind()} ${mine.toString()}`
  const b = theirs === null ? null : `${theirs.kind()} ${theirs.toString()}`
  if (a !== b) out.push(`parseAddress(${JSON.stringify(text)}): ${a} vs ${b}`)
  const mc = parseCidr(text)
  const tc = ref.parseCidr(text)
  if (cidrText(mc) !== cidrText(tc)) out.push(`parseCidr(${JSON.stringify(text)}): ${cidrText(mc)} vs ${cidrText(tc)}`)
  if (mine !== null && theirs !== null) {
    if (isLoopback(mine) !== (theirs.range() === 'loopback')) out.push(`isLoopback(${text})`)
    if (rateKeyOf(mine) !== refRateKey(theirs)) out.push(`rateKeyOf(${text}): ${rateKeyOf(mine)} vs ${refRateKey(theirs)}`)
    for (const [v4, v6] of [
      [0, 0],
      [8, 7],
      [24, 48],
      [31, 56],
      [32, 128],
      [17, 99],
    ] as const) {
      if (prefixOf(mine, v4, v6) !== ref.prefixOf(theirs, v4, v6)) out.push(`prefixOf(${text}, ${v4}, ${v6})`)
    }
  }
  return out
}

const RANGES = [
  '10.0.0.0/8',
  '192.0.2.0/24',
  '0.0.0.0/0',
  '127.0.0.1',
  '203.0.113.128/25',
  '::/0',
  '2001:db8::/32',
  '2001:db8:0:1::/64',
  '::ffff:10.0.0.0/104',
  '::ffff:0:0/95',
  'fe80::/10',
  '::1',
  '1.2.3.4/31',
  '2001:db8::8000/113',
]

const TABLE = [
  // IPv4, plain and inet_aton forms
  '1.2.3.4',
  '0.0.0.0',
  '255.255.255.255',
  '256.1.1.1',
  '1.2.3',
  '1.2',
  '1',
  '4294967295',
  '4294967296',
  '127.1',
  '127.0.1',
  '0x7f.1',
  '0x7f000001',
  '0X7F.0.0.1',
  '0177.0.0.1',
  '01.02.03.04',
  '08.1.1.1',
  '09',
  '00',
  '0',
  '0x',
  '0x100.0.0.0',
  '1.2.3.4.',
  '.1.2.3',
  '1..2.3',
  '1.2.3.4.5',
  '1.0xffffff',
  '1.0x1000000',
  '1.2.0xffff',
  '1.2.65536',
  '001.002.003.004',
  '99999999999999999999',
  '0x0000000000000001',
  '-1.2.3.4',
  '+1.2.3.4',
  '1.2.3.4 ',
  ' 1.2.3.4',
  '1.2.3.4\n',
  '1.2. 3.4',
  '1e3',
  '١.٢.٣.٤',
  '1.2.3.4%eth0',
  '[1.2.3.4]',
  '1.2.3.04',
  '1.2.3.4x',
  // IPv6
  '::',
  '::1',
  '1::',
  '::0',
  '0::0',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4:5:6:7::',
  '::2:3:4:5:6:7:8',
  '1:2:3:4::5:6:7:8',
  '1:2:3:4:5:6:7:8::',
  ':::',
  '1:::2',
  '::1::',
  '1::2::3',
  ':1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:',
  '1::2:',
  '2001:DB8::1',
  '2001:db8::0001',
  '2001:db8::00001',
  '2001:0db8:0000:0000:0000:0000:0000:0001',
  '2001:db8:0:0:1:0:0:1',
  '2001:0:0:1:0:0:0:1',
  '0:0:1:0:0:1:0:0',
  '1:0:0:2:0:0:0:3',
  '1:0:2:0:3:0:4:0',
  '0:0:0:0:0:0:0:1',
  'fe80::1%eth0',
  'fe80::1%ETH0',
  'fe80::1%',
  'fe80::1%eth0.1',
  'fe80::1%eth-0',
  'fe80::%1',
  'fe80::1%eth0%x',
  '[2001:db8::1]',
  '[2001:db8::1',
  '2001:db8::1]',
  '[[::1]]',
  '[::1]:80',
  ' ::1 ',
  '::1\t',
  'g::1',
  '::-1',
  '2001:db8::1 2',
  'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  // embedded / mapped IPv4
  '::ffff:1.2.3.4',
  '::FFFF:1.2.3.4',
  '::ffff:0102:0304',
  '::ffff:102:304',
  '::1.2.3.4',
  '::0x1.2.3.4',
  '::1.2.3.4%eth0',
  '::ffff:1.2.3.256',
  '::ffff:01.2.3.4',
  '::ffff:08.2.3.4',
  '::ffff:0x10.2.3.4',
  '::ffff:1.2.3',
  '::ffff:1.2.3.4.5',
  '1:2:3:4:5:6:1.2.3.4',
  '1:2:3:4:5::1.2.3.4',
  '1:2:3:4:5:6::1.2.3.4',
  '1:2:3:4:5:6:7:1.2.3.4',
  '::1:1.2.3.4',
  '1::1.2.3.4',
  '1:1.2.3.4',
  ':1.2.3.4',
  '::ffff:1.2.3.4%eth0',
  '64:ff9b::192.0.2.33',
  '::ffff:0:1.2.3.4',
  '[::ffff:1.2.3.4]',
  '::ffff:127.0.0.1',
  '1.2.3.4:80',
  '127.255.0.1',
  '::1%lo',
  '::2',
  '0:0:0:0:0:0:0:1',
  // CIDR
  '1.2.3.4/33',
  '1.2.3.4/32',
  '1.2.3.4/0',
  '1.2.3.4/-1',
  '1.2.3.4/',
  '/24',
  '1.2.3.4/08',
  '1.2.3.4/0x8',
  '1.2.3.4/ 8',
  '1.2.3.4 /8',
  '1.2.3.4/8/8',
  '1.2.3.4/99999999999999999999',
  '10/8',
  '0x0a/8',
  '::/0',
  '::/128',
  '::/129',
  '2001:db8::/32',
  '2001:db8::/-1',
  '::ffff:10.0.0.0/104',
  '::ffff:10.0.0.0/96',
  '::ffff:10.0.0.0/95',
  '::ffff:10.0.0.0/128',
  '::ffff:10.0.0.0/129',
  '::ffff:0:0/96',
  '::10.0.0.0/104',
  'fe80::%eth0/64',
  'fe80::1%eth0/10',
  '[::1]/128',
  '[2001:db8::]/32',
  ' 10.0.0.0/8 ',
  '10.0.0.0/8\n',
  '2001:db8::/0032',
  '',
  ' ',
  '/',
  '[]',
  'example.com',
  'localhost',
  'undefined',
  'null',
]

describe('IP address code matches ipaddr.js 2.5', () => {
  it('on a table of tricky inputs', () => {
    expect(TABLE.flatMap(differences)).toEqual([])
  })

  it('on range membership', () => {
    const mine = RANGES.map((r) => parseCidr(r) as Cidr)
    const theirs = RANGES.map((r) => ref.parseCidr(r) as [Ref, number])
    const probes = [...TABLE, '10.255.255.255', '11.0.0.0', '192.0.2.255', '2001:db8:ffff::1', '2001:db8:0:1:ffff::1', '::ffff:10.1.2.3']
    const bad: string[] = []
    for (const probe of probes) {
      const a = parseAddress(probe)
      const b = ref.parseAddress(probe)
      if (a === null || b === null) continue
      RANGES.forEach((range, i) => {
        if (inAnyRange(a, [mine[i] as Cidr]) !== ref.inAnyRange(b, [theirs[i] as [Ref, number]])) bad.push(`${probe} in ${range}`)
      })
    }
    expect(bad).toEqual([])
  })

  it('on seeded random addresses and mutations of them', () => {
    // mulberry32: deterministic, so a failure names an input that fails every run.
    let seed = 0x5eed1234
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
    const int = (n: number): number => Math.floor(random() * n)
    const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T
    const group = (): string => (random() < 0.4 ? '0' : int(0x10000).toString(16)).padStart(int(3) === 0 ? 4 : 1, '0')
    const v4 = (): string => Array.from({ length: 4 }, () => pick([0, 1, 10, 127, 192, 255, int(256)])).join('.')
    const v6 = (): string => {
      const groups = Array.from({ length: 8 }, group)
      if (random() < 0.3) return `${groups.slice(0, 6).join(':')}:${v4()}`
      if (random() < 0.2) return `::ffff:${v4()}`
      return groups.join(':')
    }
    const compress = (text: string): string => text.replace(/(^|:)0(:0)+(:|$)/, '::')
    const mutations: readonly ((s: string) => string)[] = [
      (s) => s,
      (s) => compress(s),
      (s) => s.toUpperCase(),
      (s) => {
        const i = int(s.length + 1)
        return s.slice(0, i) + pick([':', '.', '::', '0', 'f', 'g', 'x', '%', ' ', '/', '[', ']', '0x']) + s.slice(i)
      },
      (s) => {
        const i = int(s.length)
        return s.slice(0, i) + s.slice(i + 1)
      },
      (s) => `${s}/${pick([0, 1, 8, 24, 32, 33, 64, 96, 104, 128, 129, int(200)])}`,
      (s) => `[${s}]`,
      (s) => `${s}%${pick(['eth0', 'lo', '1', 'a-b', ''])}`,
      (s) => s.replace(/\d+/, (d) => `0${d}`),
      (s) => s.replace(/\d+/, (d) => `0x${Number(d).toString(16)}`),
      (s) =>
        s
          .split('.')
          .slice(0, 1 + int(4))
          .join('.'),
    ]
    const bad: string[] = []
    for (let i = 0; i < 20_000 && bad.length < 20; i++) {
      const base = random() < 0.5 ? v4() : v6()
      let text = pick(mutations)(base)
      if (random() < 0.3) text = pick(mutations)(text)
      bad.push(...differences(text))
    }
    expect(bad).toEqual([])
  })
})
