// Original file: proto/secrets-store-csi-driver/service.proto


export interface Error {
  'code'?: (string);
}

export interface Error__Output {
  'code': (string);
}
