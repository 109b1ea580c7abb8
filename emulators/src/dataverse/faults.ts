/**
 * Fault injection for tests: fail the next N requests (or a steady fraction of them) with a 5xx, add latency, or
 * drop the connection. A fraction is applied deterministically (every 1/fraction-th matching request), so a
 * test that injects 25 % failures sees exactly one in four.
 */

export interface FaultSpec {
  /** HTTP status to answer with (500, 502, 503, 504…). */
  status?: number;
  /** Close the connection without an answer. */
  drop?: boolean;
  /** Delay before the request is handled (combined with a status or a drop, or alone). */
  latencyMs?: number;
  /** How many matching requests the fault applies to; unlimited when omitted with `fraction` or latency alone. */
  count?: number;
  /** Share of matching requests affected, 0 < fraction ≤ 1. */
  fraction?: number;
  /** Only requests with this method and/or whose path contains this text. */
  match?: { method?: string; pathIncludes?: string };
}

export interface FaultDecision {
  latencyMs: number;
  status?: number;
  drop?: boolean;
}

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
  accumulator: number;
}

export class FaultInjector {
  private faults: ActiveFault[] = [];

  add(spec: FaultSpec): void {
    if (spec.fraction !== undefined && !(spec.fraction > 0 && spec.fraction <= 1)) {
      throw new Error('fault fraction must be in (0, 1]');
    }
    const unlimited = spec.fraction !== undefined || (spec.status === undefined && !spec.drop);
    this.faults.push({ spec, remaining: spec.count ?? (unlimited ? Infinity : 1), accumulator: 0 });
  }

  clear(): void {
    this.faults = [];
  }

  get active(): number {
    return this.faults.length;
  }

  /** What to do to this request; consumes one use of each matching fault that applies. */
  take(method: string, path: string): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0 };
    for (const fault of this.faults) {
      const { spec } = fault;
      if (spec.match?.method && spec.match.method.toUpperCase() !== method.toUpperCase()) continue;
      if (spec.match?.pathIncludes && !path.includes(spec.match.pathIncludes)) continue;
      if (fault.remaining <= 0) continue;
      if (spec.fraction !== undefined) {
        fault.accumulator += spec.fraction;
        if (fault.accumulator < 1 - 1e-9) continue;
        fault.accumulator -= 1;
      }
      fault.remaining--;
      decision.latencyMs += spec.latencyMs ?? 0;
      if (spec.drop) decision.drop = true;
      else if (spec.status !== undefined && decision.status === undefined) decision.status = spec.status;
    }
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return decision;
  }
}
