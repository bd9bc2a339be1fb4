import type { BarrierOutcome, BranchRider, SagaOp } from '../../domain/branch.js';
import { LeaseLost, type SagaLog } from '../../domain/saga.js';
import type { SagaContext, StepDone } from '../saga-context.js';
import type { SagaSystem } from './bind-steps.js';
import { type DefinedType, forgetting } from './defined-type.js';
import { successMove } from './riding.js';
import type { RunningSaga } from './running-saga.js';
import type { RuntimeLogger } from './runtime-log.js';
import type { StepGate } from './step-gate.js';

export interface StepCallOptions {
  readonly log: SagaLog;
  readonly gate: StepGate;
  readonly logger: RuntimeLogger;
  /** The saga whose actor system makes the call (never looked up by gid, which a newer claim shares). */
  readonly sagaOf: (system: SagaSystem) => RunningSaga | undefined;
  /** The saga's lease is gone (a riding write found the row claimed by another process). */
  readonly lost: (saga: RunningSaga) => void;
}

/**
 * The branch calls of the sagas a runner works: each through its saga's gate, each attempt in the
 * saga's trace, and, when the step rides, with the rider that writes the saga's move in the branch's
 * own transaction.
 */
export class StepCalls {
  constructor(private readonly options: StepCallOptions) {}

  /**
   * A step's branch call, through the gate of the saga that makes it. When the step rides, its rider
   * writes the move the step's success makes, inside the branch's transaction.
   */
  call(
    defined: DefinedType,
    system: SagaSystem,
    step: { readonly step: string; readonly op: SagaOp },
    signal: AbortSignal,
    call: (alongside: BranchRider | undefined) => Promise<StepDone>,
  ): Promise<StepDone> {
    const saga = this.options.sagaOf(system);
    if (!saga) return Promise.reject(new Error(`no saga runs ${step.step} here`));
    const rides = defined.riding.has(step.step);
    // The step state recorded the call as running; its attempts count the calls that ended.
    const context = saga.actor.getSnapshot().context as SagaContext<unknown>;
    const attempt = (context.steps[step.step]?.attempts ?? 0) + 1;
    return this.options.gate.pass(saga, { ...step, rides }, signal, () =>
      saga.trace.step(step, attempt, async () => {
        if (!rides) return call(undefined);
        try {
          const result = await call(this.rider(defined, saga, step));
          if (!saga.rideCommitted()) {
            // A wiring fault (the branch dropped its rider), not a failure: the move is written on its own.
            this.options.logger.error(
              { gid: saga.gid, type: saga.type, step: step.step },
              'a riding step committed without the saga log; writing the move on its own',
            );
            saga.uncarried = true;
          }
          return result;
        } catch (error) {
          saga.rideAbandoned();
          if (error instanceof LeaseLost) this.options.lost(saga);
          throw error;
        }
      }),
    );
  }

  /** The rider of one step call: the move the step's success makes, written with the branch. */
  private rider(
    defined: DefinedType,
    saga: RunningSaga,
    step: { readonly step: string; readonly op: SagaOp },
  ): BranchRider {
    // A row is created before the branch's effects (a login finds the registration that created its
    // user row as the one created no later than the row); a row that exists is updated after them, so a
    // refusal costs no write.
    const first = !saga.rowExists;
    // A compensation whose action this saga has not seen commit is most likely a null compensation.
    const undone = defined.undoes.get(step.step);
    const expectsWork =
      undone === undefined ||
      (saga.actor.getSnapshot().context as SagaContext<unknown>).steps[undone]?.status === 'succeeded';
    const write = async (transaction: unknown, outcome: BarrierOutcome) => {
      // An action that found its compensation first did nothing; the service refuses it after the
      // commit, and the failure is written as any other.
      if (outcome === 'hanging') return;
      const target = defined.targets.get(step.step);
      if (!target) throw new Error(`saga type ${saga.type} has no state calling ${step.step}`);
      const context = saga.actor.getSnapshot().context as SagaContext<unknown>;
      const move = forgetting(
        defined,
        successMove(context, step.step, step.op, outcome, target),
        context.input,
      );
      if (saga.rowExists) await this.options.log.saveWithin(transaction, saga.gid, saga.lease, move);
      else await this.options.log.createWithin(transaction, { ...saga.creation, ...move });
      saga.ride(move);
    };
    return { first, expectsWork, write };
  }
}
