// Original file: proto/user.proto


export interface UserResponse {
  'id'?: (string);
  'name'?: (string);
  'gender'?: (string);
  'barrier'?: (string);
  'createdAt'?: (string);
}

export interface UserResponse__Output {
  'id': (string);
  'name': (string);
  'gender': (string);
  'barrier': (string);
  'createdAt': (string);
}
