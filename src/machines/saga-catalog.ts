import { registerSaga } from './register-saga.js';
import type { SagaDefinition } from './saga-definition.js';

/** Every saga type this service knows, for tools that walk them all (`npm run machines:export`). */
// biome-ignore lint/suspicious/noExplicitAny: each definition has its own input and services
export const sagaDefinitions: readonly SagaDefinition<any, any>[] = [registerSaga];
