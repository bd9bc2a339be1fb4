// Original file: proto/user.proto


export interface UserRequest {
  'id'?: (string);
  'name'?: (string);
  'gender'?: (string);
  'passwordHash'?: (string);
  '_passwordHash'?: "passwordHash";
}

export interface UserRequest__Output {
  'id': (string);
  'name': (string);
  'gender': (string);
  'passwordHash'?: (string);
  '_passwordHash'?: "passwordHash";
}
