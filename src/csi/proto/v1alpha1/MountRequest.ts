// Original file: proto/secrets-store-csi-driver/service.proto

import type { ObjectVersion as _v1alpha1_ObjectVersion, ObjectVersion__Output as _v1alpha1_ObjectVersion__Output } from '../v1alpha1/ObjectVersion.js';

export interface MountRequest {
  'attributes'?: (string);
  'secrets'?: (string);
  'targetPath'?: (string);
  'permission'?: (string);
  'currentObjectVersion'?: (_v1alpha1_ObjectVersion)[];
}

export interface MountRequest__Output {
  'attributes': (string);
  'secrets': (string);
  'targetPath': (string);
  'permission': (string);
  'currentObjectVersion': (_v1alpha1_ObjectVersion__Output)[];
}
