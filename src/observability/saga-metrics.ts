import { Counter, Histogram, type Registry } from 'prom-client';
import type { BranchOp } from '../domain/branch.js';
import type { SagaObserver, StepFailureNotice } from '../machines/runtime/saga-coordinator.js';
import { LATENCY_BUCKETS } from './buckets.js';

/** The steps of a saga type, to create its series up front (zeros are visible before the first saga). */
export interface SagaShape {
  readonly type: string;
  readonly branches: Readonly<Record<string, { readonly op: BranchOp }>>;
}

export interface SagaMetrics extends SagaObserver {
  prepare(shape: SagaShape): void;
}

/**
 * Per-label-set children looked up in nested maps: the saga hot path builds no label object and no hash
 * string per call (prom-client's `labels(...)` does both), only a few Map lookups.
 */
class Children<T> {
  private readonly byKey = new Map<string, Map<string, Map<string, T>>>();
  constructor(private readonly make: (a: string, b: string, c: string) => T) {}
  get(a: string, b: string, c: string): T {
    let level1 = this.byKey.get(a);
    if (!level1) {
      level1 = new Map();
      this.byKey.set(a, level1);
    }
    let level2 = level1.get(b);
    if (!level2) {
      level2 = new Map();
      level1.set(b, level2);
    }
    let child = level2.get(c);
    if (!child) {
      child = this.make(a, b, c);
      level2.set(c, child);
    }
    return child;
  }
}

/** Sagas started, succeeded and aborted; step durations, retries, compensations and takeovers. */
export function createSagaMetrics(registry: Registry): SagaMetrics {
  const registers = [registry];
  const started = new Counter({
    name: 'saga_started_total',
    help: 'Sagas started by this process (new ones; resumed ones count as takeovers)',
    labelNames: ['type'],
    registers,
  });
  const succeeded = new Counter({
    name: 'saga_succeeded_total',
    help: 'Sagas that reached their success state',
    labelNames: ['type'],
    registers,
  });
  const abortedTotal = new Counter({
    name: 'saga_aborted_total',
    help: 'Sagas that were compensated and aborted',
    labelNames: ['type'],
    registers,
  });
  const duration = new Histogram({
    name: 'saga_duration_seconds',
    help: 'From start (in this process) to a final state, by type and outcome',
    labelNames: ['type', 'status'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const stepDuration = new Histogram({
    name: 'saga_step_duration_seconds',
    help: 'Branch calls by saga type, step and op (action or compensate), outcome ok or failed',
    labelNames: ['type', 'step', 'op', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const retries = new Counter({
    name: 'saga_step_retries_total',
    help: 'Step failures that will be retried after a backoff',
    labelNames: ['type', 'step', 'op'],
    registers,
  });
  const compensations = new Counter({
    name: 'saga_compensations_total',
    help: 'Compensation steps completed',
    labelNames: ['type', 'step'],
    registers,
  });
  const takeovers = new Counter({
    name: 'saga_recovery_takeovers_total',
    help: 'Sagas resumed by this process after their lease ran out or was released',
    labelNames: ['type'],
    registers,
  });

  const ok = new Children((type, step, op) => stepDuration.labels(type, step, op, 'ok'));
  const failed = new Children((type, step, op) => stepDuration.labels(type, step, op, 'failed'));
  const retried = new Children((type, step, op) => retries.labels(type, step, op));
  const compensated = new Children((type, step) => compensations.labels(type, step));

  return {
    prepare(shape) {
      for (const counter of [started, succeeded, abortedTotal, takeovers]) counter.labels(shape.type);
      for (const [name, { op }] of Object.entries(shape.branches)) {
        ok.get(shape.type, name, op);
        failed.get(shape.type, name, op);
        retried.get(shape.type, name, op);
        if (op === 'compensate') compensated.get(shape.type, name, '');
      }
    },
    started(type, _gid, resumed) {
      if (!resumed) started.labels(type).inc();
    },
    finished(type, _gid, status, durationMs) {
      (status === 'succeeded' ? succeeded : abortedTotal).labels(type).inc();
      duration.labels(type, status).observe(durationMs / 1000);
    },
    stepCall(type, step, op: BranchOp, durationMs, success) {
      (success ? ok : failed).get(type, step, op).observe(durationMs / 1000);
      if (success && op === 'compensate') compensated.get(type, step, '').inc();
    },
    stepFailed(notice: StepFailureNotice) {
      if (notice.next === 'retry') retried.get(notice.type, notice.step, notice.op).inc();
    },
    takeover(type) {
      takeovers.labels(type).inc();
    },
  };
}
