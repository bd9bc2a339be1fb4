import { hostname } from 'node:os';
import type { InspectionEvent } from 'xstate';
import type { SagaLog } from '../../domain/saga.js';
import type { RetryPolicy } from '../backoff.js';
import type { RuntimeLogger } from './runtime-log.js';
import type { SagaObserver } from './saga-observer.js';
import type { SagaTracing } from './saga-tracing.js';

export interface CoordinatorOptions {
  readonly log: SagaLog;
  readonly leaseMs: number;
  readonly recoveryIntervalMs: number;
  readonly timeoutMs: number;
  readonly policy: RetryPolicy;
  readonly alertRetryLimit: number;
  /** This process's name in the saga log's `owner` column; coordinatorOwner() by default. */
  readonly owner?: string;
  readonly logger?: RuntimeLogger;
  readonly observer?: SagaObserver;
  /** Attached to every saga actor, new or resumed (the Stately inspector, tests). */
  readonly inspect?: (event: InspectionEvent) => void;
  /** A span per saga and per step attempt (OpenTelemetry, observability/tracing); none by default. */
  readonly tracing?: SagaTracing;
  /** How many expired sagas one recovery pass takes over. */
  readonly recoveryBatch?: number;
}

/**
 * A coordinator's name in the saga log: `<id>/<random>`, where the id is COORDINATOR_ID when set (else
 * `<hostname>/<pid>`). Leases are renewed by owner, so the name must be new in every process life: a
 * process started again under a fixed id (a StatefulSet pod, say) that took its previous life's name
 * would renew that life's leases without running those sagas, and they would never resume; two
 * processes given one id would renew and claim each other's sagas.
 */
export function coordinatorOwner(id: string = `${hostname()}/${process.pid}`): string {
  return `${id}/${Math.random().toString(36).slice(2, 8)}`;
}
