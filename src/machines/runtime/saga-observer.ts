import type { StepFailureNotice } from './step-failures.js';
import type { StepCallInfo } from './step-gate.js';

/** What the runtime reports as sagas live; metrics hang off it. */
export interface SagaObserver {
  started?(type: string, gid: string, resumed: boolean): void;
  finished?(type: string, gid: string, status: 'succeeded' | 'aborted', durationMs: number): void;
  stepFailed?(notice: StepFailureNotice): void;
  stepCall?(type: string, step: string, op: StepCallInfo['op'], durationMs: number, ok: boolean): void;
  takeover?(type: string, gid: string): void;
}
