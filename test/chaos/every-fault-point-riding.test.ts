import { everyFaultPoint } from './every-fault-point.js';

// The monolith's default: the saga log written inside the branch transactions.
everyFaultPoint('riding');
