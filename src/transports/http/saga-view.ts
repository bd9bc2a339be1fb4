import { type Static, Type } from '@fastify/type-provider-typebox';
import { barrierOutcomes } from '../../domain/branch.js';
import { type SagaRecord, stepStatuses, stepUnderWay } from '../../domain/saga.js';
import { traceIdOf } from '../../machines/runtime/saga-tracing.js';
import { attemptOutcomes, type SagaDetail } from '../../machines/saga-context.js';
import type { AnySagaType } from '../../machines/saga-type.js';
import { Nullable, SagaStatusSchema } from './routes/saga-schemas.js';
import { ErrorInfoSchema } from './schemas.js';

const OpSchema = Type.Enum(['action', 'compensate']);

/** A saga as the admin API and the dashboard show it: no snapshot internals, no secrets. */
export const SagaViewSchema = Type.Object({
  gid: Type.String(),
  type: Type.String(),
  status: SagaStatusSchema,
  subject: Nullable(Type.String({ description: "The saga's business key (register: the user id)" })),
  state: Type.String({ description: 'The machine state, e.g. userSaved.waiting' }),
  steps: Type.Array(
    Type.Object({
      name: Type.String(),
      op: OpSchema,
      status: Type.Enum(['notStarted', ...stepStatuses]),
      attempts: Type.Integer(),
      lastError: Nullable(ErrorInfoSchema),
    }),
  ),
  error: Nullable(ErrorInfoSchema),
  lastError: Nullable(ErrorInfoSchema),
  nextAttemptAt: Nullable(Type.String({ format: 'date-time' })),
  input: Type.Unknown({ description: 'The saga input with secrets removed' }),
  timeline: Type.Array(
    Type.Object({
      step: Type.String(),
      op: OpSchema,
      attempt: Type.Integer(),
      startedAt: Type.Number({ description: 'epoch ms' }),
      finishedAt: Type.Number({ description: 'epoch ms' }),
      outcome: Type.Enum(attemptOutcomes),
      barrier: Nullable(Type.Enum(barrierOutcomes)),
      error: Nullable(ErrorInfoSchema),
    }),
  ),
  owner: Nullable(Type.String()),
  traceId: Nullable(
    Type.String({ description: 'The trace the saga was begun in (OpenTelemetry); null without tracing' }),
  ),
  traceUrl: Nullable(
    Type.String({ description: "That trace in a trace UI (TRACE_URL_TEMPLATE); null when it isn't set" }),
  ),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export type SagaView = Static<typeof SagaViewSchema>;
type StepView = SagaView['steps'][number];

/**
 * Every step of the saga's type, in the order it runs: actions first, then compensations.
 * `traceUrlTemplate` (TRACE_URL_TEMPLATE) links the saga's trace: `{traceId}` is replaced.
 */
export function describeSaga(
  record: SagaRecord,
  sagaType: AnySagaType | undefined,
  traceUrlTemplate?: string,
): SagaView {
  const traceId = traceIdOf(record.traceContext);
  const progress = record.progress.steps ?? {};
  // The log keeps the timeline only once a step failed or a compensation ran (SagaDetail).
  const history = (record.detail as SagaDetail | null)?.history ?? [];
  const order = Object.entries(sagaType?.branches ?? progress).map(([name, step]) => ({ name, op: step.op }));
  const steps = order
    .filter(({ name, op }) => op === 'action' || progress[name] !== undefined)
    .map(
      ({ name, op }): StepView => ({
        name,
        op: op === 'action' ? 'action' : 'compensate',
        status: progress[name]?.status ?? 'notStarted',
        attempts: progress[name]?.attempts ?? 0,
        lastError: progress[name]?.lastError ?? null,
      }),
    );
  return {
    gid: record.gid,
    type: record.type,
    status: record.status,
    subject: record.subject,
    state: record.state,
    steps,
    error: record.progress.error ?? null,
    lastError: record.progress.lastError ?? null,
    nextAttemptAt: stepUnderWay(record.progress).nextAttemptAt?.toISOString() ?? null,
    input: sagaType ? sagaType.redactInput(record.input) : null,
    timeline: history.map((entry) => ({
      ...entry,
      op: entry.op === 'action' ? 'action' : 'compensate',
    })),
    owner: record.owner,
    traceId,
    traceUrl: traceId && traceUrlTemplate ? traceUrlTemplate.replaceAll('{traceId}', traceId) : null,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}
