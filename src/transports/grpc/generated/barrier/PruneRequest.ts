// Original file: proto/barrier.proto


export interface PruneRequest {
  'olderThanSeconds'?: (number);
  'keepGids'?: (string)[];
  'batchSize'?: (number);
}

export interface PruneRequest__Output {
  'olderThanSeconds': (number);
  'keepGids': (string)[];
  'batchSize': (number);
}
