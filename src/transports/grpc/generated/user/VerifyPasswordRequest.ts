// Original file: proto/user.proto


export interface VerifyPasswordRequest {
  'id'?: (string);
  'password'?: (string);
}

export interface VerifyPasswordRequest__Output {
  'id': (string);
  'password': (string);
}
