import type { BranchOp } from '../domain/branch.js';
import type { ErrorInfo } from '../domain/errors.js';
import type { SagaRecord, SagaStatus } from '../domain/saga.js';
import type { AttemptRecord, SagaContext, SagaDefinition, StepProgress } from './saga-definition.js';

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

/** Every step of the definition, in the order it runs: actions first, then compensations in reverse. */
export function describeSaga(
  record: SagaRecord,
  definition: SagaDefinition<unknown, unknown> | undefined,
): SagaView {
  const context = (record.snapshot as { context?: SagaContext<unknown> } | null)?.context;
  const progress = context?.steps ?? {};
  const order: Array<{ name: string; op: BranchOp }> = definition
    ? [
        ...definition.steps.map((step) => ({ name: step.name, op: 'action' as const })),
        ...[...definition.steps]
          .reverse()
          .map((step) => ({ name: step.compensation.name, op: 'compensate' as const })),
      ]
    : Object.entries(progress).map(([name, step]) => ({ name, op: step.op }));
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
    input: definition ? definition.redactInput(record.input) : null,
    timeline: [...(context?.history ?? [])],
    owner: record.owner,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}
