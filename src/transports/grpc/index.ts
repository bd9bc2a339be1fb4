// What app.ts needs of gRPC, in one module it imports only when the process serves or calls over gRPC:
// grpc-js and protobufjs add about 20 MB to a process (bench/NOTES.md), which a monolith need not carry.
export { createBarrierClient } from './barrier-client.js';
export { barrierHandlers } from './barrier-handlers.js';
export { channelCredentials, serverCredentials, tokenChecker } from './credentials.js';
export { startGrpcServer } from './grpc-server.js';
export { loadProtos } from './protos.js';
export { createScoreClient } from './score-client.js';
export { scoreHandlers } from './score-handlers.js';
export { createUserClient } from './user-client.js';
export { userHandlers } from './user-handlers.js';
