// Original file: proto/user.proto


export interface VerifyPasswordResponse {
  'ok'?: (boolean);
}

export interface VerifyPasswordResponse__Output {
  'ok': (boolean);
}
