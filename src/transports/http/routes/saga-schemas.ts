import { type TSchema, Type } from '@fastify/type-provider-typebox';

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const SagaStatusSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('compensating'),
  Type.Literal('succeeded'),
  Type.Literal('aborted'),
]);
