/**
 * deploy/prometheus/alerts.yml (promtool is not at hand): it parses as a Prometheus rules file, every rule
 * names one of the service's own alerts, every expression reads only metrics the service exports at /metrics
 * with labels they have, and the signature rule counts the same refusal reasons as the service's rule.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { parse } from 'yaml';
import { createMetrics } from '../../observability/metrics';
import { createReconciliationMetrics } from '../../reconciliation';
import { createStripeBudgetMetrics } from '../../stripe';
import { ALERT_NAMES, createAlertMetrics, SIGNATURE_REASONS } from '..';

const RULES_FILE = path.resolve(__dirname, '../../../../deploy/prometheus/alerts.yml');

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

function rules(): Rule[] {
  const file = parse(fs.readFileSync(RULES_FILE, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
  expect(Array.isArray(file.groups)).toBe(true);
  return file.groups.flatMap((group) => {
    expect(typeof group.name).toBe('string');
    return group.rules;
  });
}

/** The registry the running service exposes, with every metric family it registers. */
function serviceRegistry(): Registry {
  const metrics = createMetrics();
  createReconciliationMetrics(metrics.registry);
  createStripeBudgetMetrics(metrics.registry);
  createAlertMetrics(metrics.registry, { oldestWaitingMs: async () => null });
  return metrics.registry;
}

/** `name{label="…", …}` selectors in an expression. */
function selectors(expr: string): { metric: string; labels: string[] }[] {
  return [...expr.matchAll(/\b(stc_[a-z0-9_]+)\s*(?:\{([^}]*)\})?/g)].map((match) => ({
    metric: match[1],
    labels: [...(match[2] ?? '').matchAll(/(\w+)\s*(?:=~|!~|!=|=)\s*"/g)].map((label) => label[1]),
  }));
}

test('the rules file has the shape Prometheus loads', () => {
  const all = rules();
  expect(all.length).toBeGreaterThanOrEqual(ALERT_NAMES.length);
  expect(new Set(all.map((rule) => rule.alert)).size).toBe(all.length);
  for (const rule of all) {
    expect(rule.alert).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
    expect(typeof rule.expr).toBe('string');
    expect(rule.for).toMatch(/^\d+[smhd]$/);
    expect(['warning', 'critical']).toContain(rule.labels.severity);
    expect(rule.annotations.summary).toBeTruthy();
    const opened = rule.expr.split('(').length;
    expect(rule.expr.split(')').length).toBe(opened);
  }
});

test("every rule is one of the service's alerts, and every alert has a rule", () => {
  const named = rules().map((rule) => rule.labels.rule);
  for (const name of named) expect(ALERT_NAMES).toContain(name);
  for (const name of ALERT_NAMES) expect(named).toContain(name);
});

test('every expression reads metrics the service exports, by labels they have', () => {
  const registry = serviceRegistry();
  for (const rule of rules()) {
    const found = selectors(rule.expr);
    expect(found.length).toBeGreaterThan(0);
    for (const { metric, labels } of found) {
      const exported = registry.getSingleMetric(metric) as unknown as { labelNames?: string[] } | undefined;
      expect({ rule: rule.alert, metric, exported: exported !== undefined }).toEqual({
        rule: rule.alert,
        metric,
        exported: true,
      });
      for (const label of labels) expect(exported!.labelNames ?? []).toContain(label);
    }
  }
});

test('the signature rule counts the refusal reasons the service counts', () => {
  const rule = rules().find((r) => r.labels.rule === 'signature_failures')!;
  const reasons = /reason=~"([^"]+)"/.exec(rule.expr)![1].split('|');
  expect(reasons.sort()).toEqual([...SIGNATURE_REASONS].sort());
});
