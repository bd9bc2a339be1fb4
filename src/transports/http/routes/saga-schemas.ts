import { type TSchema, Type } from '@fastify/type-provider-typebox';
import { sagaStatuses } from '../../../domain/saga.js';

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** The saga statuses, from the one list in domain/saga.ts. */
export const SagaStatusSchema = Type.Enum(sagaStatuses);
