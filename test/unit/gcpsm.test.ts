// The gcpsm provider's pure parts: CRC32C, workload identity audiences, and
// how gRPC and token-service failures map to typed errors.
import { describe, expect, it } from 'vitest';
import { NotFoundError, PermissionDeniedError, ThrottledError } from '../../src/providers/errors.js';
import { workloadAudiences } from '../../src/providers/gcpsm/credentials.js';
import { googleError, retryDelayMs } from '../../src/providers/gcpsm/errors.js';
import { crc32c } from '../../src/util/crc32c.js';

describe('CRC32C', () => {
  it('matches the Castagnoli check values', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array())).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });
});

describe('gcpsm workload identity audiences', () => {
  const sa = { name: 'app' };
  it('uses a pool provider as given, its https form for the ServiceAccount token', () => {
    const audience = '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k';
    expect(workloadAudiences({ projectID: 'proj' }, { serviceAccountRef: sa, audience })).toEqual({ sts: audience, token: `https:${audience}` });
  });

  it('builds the GKE identity namespace from the cluster, its project defaulting to the store project', () => {
    expect(workloadAudiences({ projectID: 'proj' }, { serviceAccountRef: sa, clusterLocation: 'europe-west1', clusterName: 'c1' })).toEqual({
      sts: 'identitynamespace:proj.svc.id.goog:https://container.googleapis.com/v1/projects/proj/locations/europe-west1/clusters/c1',
      token: 'proj.svc.id.goog',
    });
    expect(workloadAudiences({ projectID: 'proj' }, { serviceAccountRef: sa, clusterLocation: 'l', clusterName: 'c', clusterProjectID: 'other' }).token).toBe('other.svc.id.goog');
    expect(() => workloadAudiences({ projectID: 'proj' }, { serviceAccountRef: sa })).toThrow(/needs audience/);
  });
});

describe('gcpsm failures', () => {
  it('maps gRPC status codes', () => {
    expect(googleError({ code: 5, details: 'Secret [x] not found' }, 'k')).toEqual(new NotFoundError('k'));
    expect(googleError({ code: 9, details: 'projects/p/secrets/k/versions/2 is in DESTROYED state.' }, 'k').message).toBe('remote secret "k" not found: the version is destroyed');
    expect(googleError({ code: 7, details: "Permission 'secretmanager.versions.access' denied" }, 'k')).toBeInstanceOf(PermissionDeniedError);
    expect(googleError({ code: 16, details: 'invalid authentication credentials' }, 'k')).toBeInstanceOf(PermissionDeniedError);
    const throttled = googleError({ code: 8, details: 'Quota exceeded', statusDetails: [{ retryDelay: { seconds: '3', nanos: 500_000_000 } }] }, 'k');
    expect(throttled).toBeInstanceOf(ThrottledError);
    expect((throttled as ThrottledError).retryAfterMs).toBe(3500);
    expect(googleError({ code: 14, details: 'No connection established' }, 'k').message).toBe('Secret Manager call for "k" failed: No connection established');
  });

  it('names what the token services said about refused credentials', () => {
    const err = googleError({ message: 'request failed', response: { data: { error: 'invalid_grant', error_description: 'The audience in ID Token [x] does not match the expected audience.' } } }, 'k');
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err.message).toContain('does not match the expected audience');
    expect(retryDelayMs({})).toBeUndefined();
  });
});
