import type { AnyStateMachine } from 'xstate';
import type { BranchRef, BranchReply, BranchRider, SagaOp } from '../domain/branch.js';

/** What a step's branch call receives: its barrier identity, the saga's input and earlier steps' results. */
export interface StepCall<Input> {
  readonly gid: string;
  readonly branch: BranchRef;
  readonly input: Input;
  /** Results of the steps that already succeeded, by step name: how a step's output flows forward. */
  readonly results: Readonly<Record<string, unknown>>;
  readonly signal: AbortSignal;
  /** The saga's log write, to commit with the branch's transaction when the branch runs here (riding). */
  readonly alongside: BranchRider | undefined;
}

/** One step of a saga as a call to a service: its DTM branch and op, and the call itself. */
export interface Branch<Input, Services> {
  /** The service the branch calls (a key of Services): whether its transactions can carry the saga's log. */
  readonly service: keyof Services & string;
  /** DTM's branch id: the branch's slot in the barrier table (`01`, `02`, ...); an action and its compensation share it. */
  readonly branchId: string;
  readonly op: SagaOp;
  readonly call: (services: Services, call: StepCall<Input>) => Promise<BranchReply<unknown>>;
}

/**
 * A saga type as the runtime runs it: its machine (written out in its own file), the service call behind
 * each step actor the machine names, and what the log and the admin views need to know of it.
 */
export interface SagaType<Input, Services> {
  /** Stored in the saga log; also the prefix of the actor id (`register:<gid>`). */
  readonly type: string;
  /** Bump when the machine changes in a way a persisted snapshot cannot follow; stored with each saga. */
  readonly version: number;
  readonly machine: AnyStateMachine;
  /** Every step actor of the machine, by name, in the order a reader expects: actions, then compensations. */
  readonly branches: Readonly<Record<string, Branch<Input, Services>>>;
  /**
   * The business key an operator searches sagas by (register: the user id), stored in the log's indexed
   * `subject` column when the saga is created.
   */
  readonly subjectOf?: (input: Input) => string | null;
  /**
   * The input as the log keeps it once the saga is final, without the secrets it carried for its steps;
   * undefined when it carries none (nothing to rewrite).
   */
  readonly forgetAtEnd?: (input: Input) => Input | undefined;
  /** Removes secrets from the input before it is shown (dashboard, inspector, API). */
  readonly redactInput: (input: Input) => unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: each saga type has its own input and services
export type AnySagaType = SagaType<any, any>;
