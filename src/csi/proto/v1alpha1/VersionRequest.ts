// Original file: proto/secrets-store-csi-driver/service.proto


export interface VersionRequest {
  'version'?: (string);
}

export interface VersionRequest__Output {
  'version': (string);
}
