/**
 * A closed-loop load driver: `concurrency` workers each run one operation after another. Operations
 * finished during the warm-up are not counted; the measurement window counts what finished inside it
 * and keeps the latency of every operation that started inside it.
 */
export interface LoopOptions {
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface LoopResult {
  readonly completed: number;
  readonly errors: number;
  readonly seconds: number;
  readonly completedPerSec: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The first few error messages, so a run with errors says why. */
  readonly errorSamples: string[];
}

/** `operation(n)` gets a number unique across workers (for unique ids); throwing counts as an error. */
export async function runClosedLoop(
  options: LoopOptions,
  operation: (n: number) => Promise<void>,
  hooks: { onMeasureStart?: () => void; onMeasureEnd?: () => void } = {},
): Promise<LoopResult> {
  let next = 0;
  let phase: 'warmup' | 'measure' | 'done' = options.warmupMs > 0 ? 'warmup' : 'measure';
  let completed = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let measureStart = performance.now();
  let measureEnd = measureStart;

  const record = (ms: number) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = ms;
  };

  const startMeasuring = () => {
    phase = 'measure';
    measureStart = performance.now();
    hooks.onMeasureStart?.();
    setTimeout(() => {
      phase = 'done';
      measureEnd = performance.now();
      hooks.onMeasureEnd?.();
    }, options.durationMs);
  };
  if (phase === 'warmup') setTimeout(startMeasuring, options.warmupMs);
  else startMeasuring();

  const worker = async () => {
    while (phase !== 'done') {
      const startedIn = phase;
      const started = performance.now();
      let failed = false;
      try {
        await operation(next++);
      } catch (error) {
        failed = true;
        if (startedIn === 'measure' && phase === 'measure' && errorSamples.length < 5)
          errorSamples.push(error instanceof Error ? error.message : String(error));
      }
      if (startedIn !== 'measure' || phase !== 'measure') continue;
      if (failed) errors++;
      else completed++;
      record(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));

  const seconds = (measureEnd - measureStart) / 1000;
  const sorted = latencies.subarray(0, count).sort();
  const at = (q: number) => (count === 0 ? 0 : (sorted[Math.min(count - 1, Math.floor(q * count))] ?? 0));
  return {
    completed,
    errors,
    seconds,
    completedPerSec: completed / seconds,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    maxMs: count === 0 ? 0 : (sorted[count - 1] ?? 0),
    errorSamples,
  };
}

/**
 * `count` operations, `concurrency` at a time, all counted (no warm-up): for a scenario that needs an
 * exact number done (the memory scenario's samples), not a rate.
 */
export async function runCount(
  count: number,
  concurrency: number,
  operation: (n: number) => Promise<void>,
): Promise<{ completed: number; errors: number; seconds: number; errorSamples: string[] }> {
  let next = 0;
  let completed = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const n = next++;
      try {
        await operation(n);
        completed++;
      } catch (error) {
        errors++;
        if (errorSamples.length < 5)
          errorSamples.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { completed, errors, seconds: (performance.now() - started) / 1000, errorSamples };
}
