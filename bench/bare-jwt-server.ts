// The `read` scenario's yardstick: a fastify route that only verifies the JWT (as the service's
// @fastify/jwt settings do) and answers the user id: the least any authenticated read can cost.
import jwt from '@fastify/jwt';
import fastify from 'fastify';

const app = fastify({ logger: false });
await app.register(jwt, { secret: process.env.JWT_SECRET as string, verify: { algorithms: ['HS256'] } });
app.get('/user', async (request, reply) => {
  try {
    const claims = await request.jwtVerify<{ userId: number }>();
    return { id: claims.userId };
  } catch {
    return reply.code(401).send({ error: { code: 'unauthenticated', message: 'bad token' } });
  }
});
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
