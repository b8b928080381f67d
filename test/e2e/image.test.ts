// The image `make image` builds here and the Dockerfile (the release path)
// must keep one contract: the same user, entrypoint, working directory,
// environment and port, the bundle and nothing else of the project, the Node
// runtime the project pins, and no shell.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const archive = process.env.IMAGE_ARCHIVE ?? join(root, 'dist/image/secretsync.oci.tar');

const fromArchive = (path: string): Buffer => execFileSync('tar', ['-xOf', archive, path], { maxBuffer: 2 ** 30 });
const blob = (digest: string): Buffer => fromArchive(`blobs/sha256/${digest.replace('sha256:', '')}`);
const json = <T>(buf: Buffer): T => JSON.parse(buf.toString('utf8')) as T;

interface Descriptor { digest: string; annotations?: Record<string, string> }
interface ImageConfig {
  config: { User: string; WorkingDir: string; Env: string[]; Entrypoint: string[]; Cmd?: string[]; ExposedPorts: Record<string, object> };
  rootfs: { diff_ids: string[] };
}

function image() {
  const index = json<{ manifests: Descriptor[] }>(fromArchive('index.json'));
  const manifest = json<{ config: Descriptor; layers: Descriptor[] }>(blob(index.manifests[0]!.digest));
  const config = json<ImageConfig>(blob(manifest.config.digest));
  // Every path in the image, from each layer's listing.
  const files = new Set<string>();
  for (const layer of manifest.layers) {
    const listing = execFileSync('tar', ['-t'], { input: blob(layer.digest), maxBuffer: 2 ** 28 }).toString('utf8');
    for (const line of listing.split('\n')) if (line && !line.includes('PaxHeaders')) files.add(`/${line.replace(/^\.\//, '').replace(/\/$/, '')}`);
  }
  return { ref: index.manifests[0]!.annotations?.['io.containerd.image.name'], config, layers: manifest.layers.length, files };
}

/** The Dockerfile's final stage, instruction by instruction (continuation lines joined). */
function dockerfileFinalStage(): Map<string, string[]> {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages = text.split(/^FROM /m);
  const out = new Map<string, string[]>();
  for (const line of stages[stages.length - 1]!.split('\n').slice(1)) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : [join(dir, name)]));

describe('the image make image builds', () => {
  const built = image();
  const dockerfile = dockerfileFinalStage();

  it('runs as the Dockerfile says: user, working directory, entrypoint, NODE_OPTIONS, port', () => {
    expect(built.config.config.User).toBe(dockerfile.get('USER')![0]);
    expect(built.config.config.WorkingDir).toBe(dockerfile.get('WORKDIR')![0]);
    expect(built.config.config.Entrypoint).toEqual(JSON.parse(dockerfile.get('ENTRYPOINT')![0]!));
    expect(built.config.config.Cmd).toBeUndefined();
    for (const env of dockerfile.get('ENV')!) {
      const m = /^(\w+)="?(.*?)"?$/.exec(env)!;
      expect(built.config.config.Env).toContain(`${m[1]}=${m[2]}`);
    }
    expect(Object.keys(built.config.config.ExposedPorts)).toEqual(dockerfile.get('EXPOSE')!.map((p) => `${p}/tcp`));
    // The distroless base's own: non-root 65532 and its home, the CA bundle.
    expect(built.config.config.User).toBe('65532:65532');
    expect(built.config.config.Env).toContain('SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt');
    expect(built.ref).toMatch(/^ghcr\.io\/secretsync\/secretsync:/);
  });

  it('holds the bundle and nothing else of the project, the pinned Node, and no shell', () => {
    // COPY --from=build /app/dist/bundle ./dist/bundle: every bundle file, under /app.
    const copy = dockerfile.get('COPY')!.find((c) => c.includes('dist/bundle'))!;
    expect(copy).toContain('./dist/bundle');
    const bundle = join(root, 'dist/bundle');
    const expected = walk(bundle).map((f) => `/app/dist/bundle/${relative(bundle, f)}`);
    for (const f of expected) expect(built.files, f).toContain(f);
    const inApp = [...built.files].filter((f) => f.startsWith('/app/dist/bundle/'));
    expect(inApp.filter((f) => !expected.includes(f) && !expected.some((e) => e.startsWith(`${f}/`)))).toEqual([]);
    expect([...built.files].filter((f) => f.startsWith('/app/') && f !== '/app/dist' && !f.startsWith('/app/dist/bundle'))).toEqual([]);
    expect(built.files).not.toContain('/app/node_modules');
    expect(built.files).not.toContain('/app/src');
    expect(built.files).toContain('/nodejs/bin/node');
    const nodeVersion = /^NODE_VERSION := (\S+)$/m.exec(readFileSync(join(root, 'Makefile'), 'utf8'))![1]!;
    const packaged = execFileSync('tar', ['-xOf', archive, '--wildcards', 'blobs/*'], { maxBuffer: 2 ** 31 }).includes(Buffer.from(`v${nodeVersion}`));
    expect(packaged, `Node v${nodeVersion} in the image`).toBe(true);
    for (const shell of ['/bin/sh', '/bin/bash', '/usr/bin/sh', '/bin/dash']) expect(built.files).not.toContain(shell);
    expect(built.files).toContain('/etc/ssl/certs/ca-certificates.crt');
    expect(built.files).toContain('/home/nonroot');
  });
});
