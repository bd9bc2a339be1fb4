import { everyFaultPoint } from './every-fault-point.js';

// Services reached over gRPC: the saga log in statements of its own, stale until a move must be written.
everyFaultPoint('remote');
