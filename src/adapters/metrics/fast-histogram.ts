/**
 * A histogram whose observation is a few additions on plain numbers: prom-client's own checks and
 * hashes the labels of every observation (about a microsecond), too much for a store call on the hot
 * path. Each label combination's series is made once; the registry reads the series at scrape time,
 * in the same exposition prom-client writes for its histograms (`_bucket` with `le`, `_sum`, `_count`).
 *
 * @see https://prometheus.io/docs/concepts/metric_types/#histogram
 */
import type { Metric, Registry } from 'prom-client'

/** One series of a histogram: observes values into its buckets. */
export interface HistogramSeries {
  observe(value: number): void
}

/** What a histogram is declared with. */
export interface FastHistogramOptions {
  name: string
  help: string
  labelNames: readonly string[]
  /** Upper bounds, ascending (`+Inf` is added). */
  buckets: readonly number[]
}

interface Series {
  labels: Record<string, string>
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  counts: number[]
  sum: number
  count: number
}

/** The exposition samples of one series. */
const samplesOf = (name: string, buckets: readonly number[], s: Series) => {
  const samples: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = []
  let cumulative = 0
  buckets.forEach((le, i) => {
    cumulative += s.counts[i] as number
    samples.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${name}_bucket` })
  })
  samples.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${name}_bucket` })
  samples.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` })
  samples.push({ labels: s.labels, value: s.count, metricName: `${name}_count` })
  return samples
}

/**
 * Registers a histogram in `registry`; returns how to make the series of one label combination
 * (label values in `labelNames` order). Callers keep the series they make.
 *
 * @example
 * const series = fastHistogram(registry, { name: 'x_seconds', help: 'x', labelNames: ['op'], buckets: [0.001, 0.01] })
 * series(['get']).observe(0.002)
 */
export const fastHistogram = (registry: Registry, options: FastHistogramOptions): ((values: readonly string[]) => HistogramSeries) => {
  const { name, help, labelNames, buckets } = options
  const all: Series[] = []
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({ name, help, type: 'histogram', aggregator: 'sum', values: all.flatMap((s) => samplesOf(name, buckets, s)) }),
    reset: () => {
      for (const s of all) {
        s.counts.fill(0)
        s.sum = 0
        s.count = 0
      }
    },
  }
  // prom-client's registry reads any object with a name, a help, a type and `get()`; its type names its own classes only.
  registry.registerMetric(metric as unknown as Metric<string>)
  return (values) => {
    const labels: Record<string, string> = {}
    labelNames.forEach((label, i) => (labels[label] = values[i] ?? ''))
    const s: Series = { labels, counts: new Array<number>(buckets.length + 1).fill(0), sum: 0, count: 0 }
    all.push(s)
    return {
      observe(value) {
        let i = 0
        while (i < buckets.length && value > (buckets[i] as number)) i++
        s.counts[i] = (s.counts[i] as number) + 1
        s.sum += value
        s.count++
      },
    }
  }
}
