import { describe, expect, it } from 'vitest';
import { createMetrics, disabledMetrics, MAX_SERIES_PER_METRIC } from './metrics.js';

/** The sample lines of a metric (no comments). */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(name));
}

describe('createMetrics', () => {
  it('renders counters in the Prometheus text format, with HELP and TYPE once per metric', () => {
    const metrics = createMetrics();
    metrics.increment('hono_bff_requests_total', { route: '/api', status: '200', code: '', domain: '' });
    metrics.increment('hono_bff_requests_total', { route: '/api', status: '200', code: '', domain: '' });
    metrics.increment('hono_bff_requests_total', { route: '/bff/session', status: '401', code: 'unauthenticated', domain: 'identity' });
    const text = metrics.render();
    expect(text.endsWith('\n')).toBe(true);
    expect(text).toContain('# TYPE hono_bff_requests_total counter\n');
    expect(text.match(/# HELP hono_bff_requests_total /g)).toHaveLength(1);
    expect(samples(text, 'hono_bff_requests_total')).toEqual([
      'hono_bff_requests_total{route="/api",status="200",code="",domain=""} 2',
      'hono_bff_requests_total{route="/bff/session",status="401",code="unauthenticated",domain="identity"} 1',
    ]);
  });

  it('refresh outcomes and introspection cache results exist at 0 from the start', () => {
    const text = createMetrics().render();
    expect(samples(text, 'hono_bff_refreshes_total')).toEqual(['refreshed', 'coalesced', 'rejected', 'unavailable'].map((o) => `hono_bff_refreshes_total{outcome="${o}"} 0`));
    expect(samples(text, 'hono_bff_introspection_cache_total')).toEqual(['hono_bff_introspection_cache_total{result="hit"} 0', 'hono_bff_introspection_cache_total{result="miss"} 0']);
  });

  it('histogram buckets are cumulative, with +Inf, _sum and _count', () => {
    const metrics = createMetrics();
    for (const seconds of [0.003, 0.2, 0.2, 45]) metrics.observe('hono_bff_upstream_duration_seconds', seconds, { route: '/api' });
    const lines = samples(metrics.render(), 'hono_bff_upstream_duration_seconds');
    const bucket = (le: string) => lines.find((l) => l.startsWith(`hono_bff_upstream_duration_seconds_bucket{route="/api",le="${le}"}`))?.split(' ')[1];
    expect([bucket('0.005'), bucket('0.1'), bucket('0.25'), bucket('30'), bucket('60'), bucket('+Inf')]).toEqual(['1', '1', '3', '3', '4', '4']);
    expect(lines).toContain('hono_bff_upstream_duration_seconds_count{route="/api"} 4');
    expect(lines.find((l) => l.startsWith('hono_bff_upstream_duration_seconds_sum{route="/api"}'))).toMatch(/ 45\.40\d*$/);
  });

  it('escapes backslashes, quotes and newlines in label values', () => {
    const metrics = createMetrics();
    metrics.increment('hono_bff_requests_total', { route: 'a"b\\c\nd', status: '200', code: '', domain: '' });
    expect(metrics.render()).toContain('route="a\\"b\\\\c\\nd"');
  });

  it(`stops adding series at ${MAX_SERIES_PER_METRIC} per metric, still counting existing ones`, () => {
    const metrics = createMetrics();
    for (let i = 0; i < MAX_SERIES_PER_METRIC + 50; i++) metrics.increment('hono_bff_requests_total', { route: `/r${i}`, status: '200', code: '', domain: '' });
    metrics.increment('hono_bff_requests_total', { route: '/r0', status: '200', code: '', domain: '' });
    const lines = samples(metrics.render(), 'hono_bff_requests_total');
    expect(lines).toHaveLength(MAX_SERIES_PER_METRIC);
    expect(lines[0]).toBe('hono_bff_requests_total{route="/r0",status="200",code="",domain=""} 2');
  });

  it('disabled metrics record and render nothing', () => {
    disabledMetrics.increment('hono_bff_introspection_cache_total', { result: 'hit' });
    expect(disabledMetrics.render()).toBe('');
  });
});
