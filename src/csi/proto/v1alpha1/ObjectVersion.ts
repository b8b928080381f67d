// Original file: proto/secrets-store-csi-driver/service.proto


export interface ObjectVersion {
  'id'?: (string);
  'version'?: (string);
}

export interface ObjectVersion__Output {
  'id': (string);
  'version': (string);
}
