import type { BarrierOutcome, BranchOp, BranchRef, BranchReply } from '../domain/branch.js';
import type { ErrorInfo, ErrorKind } from '../domain/errors.js';

/** What a step's code receives: its barrier identity, the saga's input and the results of earlier steps. */
export interface StepCall<Input> {
  readonly gid: string;
  readonly branch: BranchRef;
  readonly input: Input;
  /** Results of the steps that already succeeded, by step name: how a step's output flows forward. */
  readonly results: Readonly<Record<string, unknown>>;
  readonly signal: AbortSignal;
}

export type StepCode<Input, Services> = (
  services: Services,
  call: StepCall<Input>,
) => Promise<BranchReply<unknown>>;

/** One branch of a saga: its action and the compensation that undoes it. */
export interface SagaStep<Input, Services> {
  /** The action's name; also its actor's name and invoke id (`saveUser`). */
  readonly name: string;
  /** DTM's branch id: this branch's slot in the barrier table (`01`, `02`, ...). */
  readonly branchId: string;
  /** The saga's state once this step succeeded (`userSaved`); the last step's is the final success state. */
  readonly doneState: string;
  readonly action: StepCode<Input, Services>;
  readonly compensation: {
    /** The compensation's name; also its actor's name and invoke id (`saveUserCallback`). */
    readonly name: string;
    readonly run: StepCode<Input, Services>;
  };
}

/**
 * A saga type, declared once: a new saga type is a new definition, and `buildSagaMachine` turns it into
 * an XState machine with the same retry, timeout, compensation and persistence behaviour as every other.
 */
export interface SagaDefinition<Input, Services> {
  /** Stored in the saga log; also the prefix of the actor id (`register:<gid>`). */
  readonly type: string;
  /** Bump when the states change incompatibly; stored with each saga. */
  readonly version: number;
  /** The state a new saga starts in, while its first step runs (`pending`). */
  readonly initialState: string;
  readonly steps: readonly SagaStep<Input, Services>[];
  /**
   * The business key an operator searches sagas by (register: the user id), stored in the log's indexed
   * `subject` column when the saga is created.
   */
  readonly subjectOf?: (input: Input) => string | null;
  /** Removes secrets from the input before it is shown (dashboard, inspector, API). */
  readonly redactInput: (input: Input) => unknown;
}

/** One call of one step, kept in the saga's context: the timeline the dashboard shows. */
export interface AttemptRecord {
  readonly step: string;
  readonly op: BranchOp;
  readonly attempt: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly outcome: 'succeeded' | 'failed' | 'retrying';
  readonly barrier: BarrierOutcome | null;
  readonly error: ErrorInfo | null;
}

export interface StepProgress {
  readonly op: BranchOp;
  readonly status: 'running' | 'waiting' | 'succeeded' | 'failed';
  readonly attempts: number;
  readonly lastError: ErrorInfo | null;
}

export interface SagaContext<Input> {
  readonly gid: string;
  readonly input: Input;
  /** Epoch ms after which a forward step that keeps failing transiently turns into compensation. */
  readonly deadline: number;
  readonly results: Readonly<Record<string, unknown>>;
  readonly steps: Readonly<Record<string, StepProgress>>;
  /** When the step waiting in backoff is due (epoch ms); kept here because XState's `after` is not persisted. */
  readonly nextAttemptAt: number | null;
  /** The failure that made the saga compensate. */
  readonly error: ErrorInfo | null;
  readonly lastError: ErrorInfo | null;
  readonly history: readonly AttemptRecord[];
  /** Oldest timeline entries dropped to bound the context (a compensation can retry for a long time). */
  readonly droppedHistory: number;
}

export interface SagaStartInput<Input> {
  readonly gid: string;
  readonly input: Input;
  readonly deadline: number;
}

/** What a step actor resolves with. It never rejects: failures are data the machine routes on. */
export type StepOutcome =
  | {
      readonly ok: true;
      readonly value: unknown;
      readonly barrier: BarrierOutcome;
      readonly startedAt: number;
      readonly finishedAt: number;
    }
  | {
      readonly ok: false;
      readonly error: ErrorInfo;
      /** `internal` for errors that are not ours (a bug): retried like transient ones, and logged. */
      readonly kind: ErrorKind;
      readonly barrier: BarrierOutcome | null;
      readonly startedAt: number;
      readonly finishedAt: number;
    };

export interface StepActorInput<Input> {
  readonly gid: string;
  readonly input: Input;
  readonly results: Readonly<Record<string, unknown>>;
}
