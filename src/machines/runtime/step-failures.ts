import type { StepFailed } from '../saga-context.js';
import type { RuntimeLogger } from './runtime-log.js';

/** A step failure as logs and metrics see it: the saga's type, and whether someone should look. */
export interface StepFailureNotice extends Omit<StepFailed, 'type'> {
  /** The saga's type. */
  readonly type: string;
  /** A compensation past ALERT_RETRY_LIMIT attempts: someone should look (DTM's alert hook). */
  readonly alert: boolean;
}

export function stepFailureNotice(
  type: string,
  event: StepFailed,
  alertRetryLimit: number,
): StepFailureNotice {
  return { ...event, type, alert: event.op === 'compensate' && event.attempt >= alertRetryLimit };
}

/** One log line per failed step call, at the level it deserves. */
export function logStepFailure(logger: RuntimeLogger, notice: StepFailureNotice): void {
  const fields = {
    gid: notice.gid,
    type: notice.type,
    step: notice.step,
    op: notice.op,
    attempt: notice.attempt,
    error: notice.error,
  };
  if (notice.alert) logger.error(fields, 'compensation keeps failing; it will be retried until it succeeds');
  else if (notice.kind === 'internal') logger.error(fields, 'step failed unexpectedly; retrying');
  else if (notice.next === 'retry') logger.warn(fields, 'step failed; retrying after backoff');
  else if (notice.next === 'timeout')
    logger.warn(fields, 'step kept failing past the saga timeout; compensating');
  else logger.info(fields, 'step refused; compensating');
}
