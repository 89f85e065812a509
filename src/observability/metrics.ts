/**
 * Prometheus metrics (text exposition format 0.0.4), kept in memory per Node
 * process or Workers isolate. Every metric and its label names are declared
 * here, and label values come from bounded sets (configured routes, statuses,
 * error codes, fixed outcomes), so the number of series stays bounded; a
 * metric stops growing at {@link MAX_SERIES_PER_METRIC} series regardless.
 */
import type { RefreshOutcome } from '../session/refresh.js';

/** Label values of each counter. */
export interface CounterLabels {
  /** Requests served by the BFF's endpoints, proxied routes and static files. */
  hono_bff_requests_total: { route: string; status: string; code: string; domain: string };
  /** Refresh calls to the IdP by result, and requests that shared another request's refresh. */
  hono_bff_refreshes_total: { outcome: RefreshOutcome };
  /** Phantom-token introspection cache lookups. */
  hono_bff_introspection_cache_total: { result: 'hit' | 'miss' };
}

/** Label values of each histogram. */
export interface HistogramLabels {
  /** Time until an upstream API answered with headers. */
  hono_bff_upstream_duration_seconds: { route: string };
}

/** A counter's name. */
export type CounterName = keyof CounterLabels;
/** A histogram's name. */
export type HistogramName = keyof HistogramLabels;

/** The metrics of one BFF app. */
export interface Metrics {
  /**
   * Adds 1 to a counter.
   * @example metrics.increment('hono_bff_introspection_cache_total', { result: 'hit' })
   */
  increment<N extends CounterName>(name: N, labels: CounterLabels[N]): void;
  /** Records one observation (in the metric's unit, e.g. seconds) in a histogram. */
  observe<N extends HistogramName>(name: N, value: number, labels: HistogramLabels[N]): void;
  /** Every metric in the Prometheus text format. */
  render(): string;
}

/** Most series one metric keeps; label sets beyond it are not recorded. */
export const MAX_SERIES_PER_METRIC = 1000;

const COUNTER_HELP: Record<CounterName, string> = {
  hono_bff_requests_total: 'Requests served by the BFF, by route, status, error code and failure domain.',
  hono_bff_refreshes_total: 'Access-token refreshes: IdP calls by result (refreshed, rejected, unavailable) and requests that shared a refresh (coalesced).',
  hono_bff_introspection_cache_total: 'Phantom-token introspection cache lookups by result.',
};

/** Series that exist from the start (at 0), so rates work before the first event. */
const INITIAL_COUNTERS: { [N in CounterName]?: Array<CounterLabels[N]> } = {
  hono_bff_refreshes_total: [{ outcome: 'refreshed' }, { outcome: 'coalesced' }, { outcome: 'rejected' }, { outcome: 'unavailable' }],
  hono_bff_introspection_cache_total: [{ result: 'hit' }, { result: 'miss' }],
};

const HISTOGRAMS: Record<HistogramName, { help: string; buckets: readonly number[] }> = {
  hono_bff_upstream_duration_seconds: {
    help: 'Time until an upstream API answered with headers, in seconds.',
    // 5 ms up to the longest route timeout (600 s).
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 600],
  },
};

interface HistogramSeries {
  labels: string;
  buckets: number[];
  sum: number;
  count: number;
}

/** Creates the in-memory metrics of one app. */
export function createMetrics(): Metrics {
  const counters = new Map<CounterName, Map<string, number>>();
  for (const name of Object.keys(COUNTER_HELP) as CounterName[]) {
    counters.set(name, new Map((INITIAL_COUNTERS[name] ?? []).map((labels) => [formatLabels(labels), 0])));
  }
  const histograms = new Map<HistogramName, Map<string, HistogramSeries>>();
  for (const name of Object.keys(HISTOGRAMS) as HistogramName[]) histograms.set(name, new Map());

  return {
    increment(name, labels) {
      const series = counters.get(name)!;
      const key = formatLabels(labels);
      const current = series.get(key);
      if (current === undefined && series.size >= MAX_SERIES_PER_METRIC) return;
      series.set(key, (current ?? 0) + 1);
    },
    observe(name, value, labels) {
      const series = histograms.get(name)!;
      const key = formatLabels(labels);
      const bounds = HISTOGRAMS[name].buckets;
      let entry = series.get(key);
      if (!entry) {
        if (series.size >= MAX_SERIES_PER_METRIC) return;
        entry = { labels: key, buckets: bounds.map(() => 0), sum: 0, count: 0 };
        series.set(key, entry);
      }
      // Buckets are cumulative: an observation counts in every bucket whose bound it does not exceed.
      bounds.forEach((bound, i) => {
        if (value <= bound) entry.buckets[i]! += 1;
      });
      entry.sum += value;
      entry.count += 1;
    },
    render() {
      const lines: string[] = [];
      for (const [name, series] of counters) {
        lines.push(`# HELP ${name} ${COUNTER_HELP[name]}`, `# TYPE ${name} counter`);
        for (const [labels, value] of series) lines.push(`${name}${braced(labels)} ${value}`);
      }
      for (const [name, series] of histograms) {
        const { help, buckets } = HISTOGRAMS[name];
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
        for (const entry of series.values()) {
          const prefix = entry.labels ? `${entry.labels},` : '';
          buckets.forEach((bound, i) => lines.push(`${name}_bucket{${prefix}le="${bound}"} ${entry.buckets[i]}`));
          lines.push(`${name}_bucket{${prefix}le="+Inf"} ${entry.count}`, `${name}_sum${braced(entry.labels)} ${entry.sum}`, `${name}_count${braced(entry.labels)} ${entry.count}`);
        }
      }
      return `${lines.join('\n')}\n`;
    },
  };
}

/** Metrics that record nothing (when `BFF_METRICS` is off). */
export const disabledMetrics: Metrics = { increment() {}, observe() {}, render: () => '' };

/** `a="x",b="y"` with values escaped as the text format requires (backslash, quote, newline). */
function formatLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

function braced(labels: string): string {
  return labels ? `{${labels}}` : '';
}
