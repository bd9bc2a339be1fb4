import type { BranchOp } from '../domain/branch.js';
import type { ErrorInfo } from '../domain/errors.js';
import type { SagaRecord, SagaStatus } from '../domain/saga.js';
import type { AttemptRecord, SagaContext, StepProgress } from './saga-context.js';
import type { AnySagaType } from './saga-type.js';

export interface StepView {
  readonly name: string;
  readonly op: BranchOp;
  readonly status: StepProgress['status'] | 'notStarted';
  readonly attempts: number;
  readonly lastError: ErrorInfo | null;
}

/** A saga as the admin API and the dashboard show it: no snapshot internals, no secrets. */
export interface SagaView {
  readonly gid: string;
  readonly type: string;
  readonly status: SagaStatus;
  readonly subject: string | null;
  readonly state: string;
  readonly steps: StepView[];
  readonly error: ErrorInfo | null;
  readonly lastError: ErrorInfo | null;
  readonly nextAttemptAt: string | null;
  readonly input: unknown;
  readonly timeline: AttemptRecord[];
  readonly owner: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Every step of the saga's type, in the order it runs: actions first, then compensations in reverse. */
export function describeSaga(record: SagaRecord, sagaType: AnySagaType | undefined): SagaView {
  const context = (record.snapshot as { context?: SagaContext<unknown> } | null)?.context;
  const progress = context?.steps ?? {};
  const order: Array<{ name: string; op: BranchOp }> = Object.entries(sagaType?.branches ?? progress).map(
    ([name, step]) => ({ name, op: step.op }),
  );
  const steps = order
    .filter(({ name, op }) => op === 'action' || progress[name] !== undefined)
    .map(({ name, op }): StepView => {
      const step = progress[name];
      return {
        name,
        op,
        status: step?.status ?? 'notStarted',
        attempts: step?.attempts ?? 0,
        lastError: step?.lastError ?? null,
      };
    });
  return {
    gid: record.gid,
    type: record.type,
    status: record.status,
    subject: record.subject,
    state: record.state,
    steps,
    error: record.error,
    lastError: record.lastError,
    nextAttemptAt: record.nextAttemptAt?.toISOString() ?? null,
    input: sagaType ? sagaType.redactInput(record.input) : null,
    timeline: [...(context?.history ?? [])],
    owner: record.owner,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}
