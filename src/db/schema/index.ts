export * from './barrier.js';
export * from './saga.js';
export * from './score.js';
export * from './user.js';
