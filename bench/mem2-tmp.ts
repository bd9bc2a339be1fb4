import { createActor } from 'xstate';
import { registerSaga } from '../src/machines/register-saga.js';
import { buildSagaMachine } from '../src/machines/saga-machine.js';

const never = new Promise<never>(() => {});
const services = { users: { saveUser: () => never }, scores: {}, secrets: {} } as never;
const saga = buildSagaMachine(registerSaga, {
  services,
  policy: { baseMs: 10, factor: 2, maxMs: 100 },
  alertRetryLimit: 5,
  gate: { run: (_i, _s, call) => call() },
  onStepFailure: () => {},
});
const heap = () => {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage();
};
const before = heap();
const actors = [];
for (let i = 0; i < 10000; i++) {
  const a = createActor(saga.machine, {
    id: `register:${i}`,
    input: {
      gid: `g${i}`,
      input: { user: { id: i, name: 'n', gender: 'g' }, score: 5, sealedPasswordHash: null },
      deadline: Date.now() + 30000,
    },
  });
  a.subscribe(() => {});
  a.start();
  actors.push(a);
}
await new Promise((r) => setTimeout(r, 200));
const after = heap();
console.log(
  'per actor KB heap',
  (after.heapUsed - before.heapUsed) / 10000 / 1024,
  'rss MB',
  after.rss / 2 ** 20,
  'base heap MB',
  before.heapUsed / 2 ** 20,
  'base rss',
  before.rss / 2 ** 20,
);
