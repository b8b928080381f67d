// Generates src/csi/proto/ from the Secrets Store CSI driver's provider API
// (proto/secrets-store-csi-driver/service.proto): the message and service
// types with @grpc/proto-loader's proto-loader-gen-types, and the descriptor
// the plugin loads (protobufjs JSON), so the bundle carries no .proto file.
// `--check` fails instead of writing when the committed files are stale.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import protobuf from 'protobufjs';

const root = join(import.meta.dirname, '..');
const proto = join(root, 'proto/secrets-store-csi-driver/service.proto');
const target = join(root, 'src/csi/proto');

function generate(dir: string): void {
  // The proto named relative to the repository: the generated files say where they came from, the same in any clone.
  execFileSync(join(root, 'node_modules/.bin/proto-loader-gen-types'), ['--grpcLib=@grpc/grpc-js', '--longs=String', '--enums=String', '--defaults', '--oneofs', `--outDir=${dir}`, '--inputTemplate=%s', '--outputTemplate=%s__Output', relative(root, proto)], { stdio: 'inherit', cwd: root });
  // The project is ESM under NodeNext resolution: relative imports name their .js file.
  for (const [file, text] of files(dir)) writeFileSync(join(dir, file), text.replace(/from '(\.{1,2}\/[^']+)'/g, "from '$1.js'"));
  const descriptor = protobuf.loadSync(proto).toJSON();
  writeFileSync(join(dir, 'descriptor.json'), `${JSON.stringify(descriptor, null, 2)}\n`);
}

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

const scratch = mkdtempSync(join(tmpdir(), 'csi-proto-'));
try {
  generate(scratch);
  if (process.argv.includes('--check')) {
    const want = files(scratch);
    const have = (() => { try { return files(target); } catch { return new Map<string, string>(); } })();
    const stale = [...new Set([...want.keys(), ...have.keys()])].filter((f) => want.get(f) !== have.get(f));
    if (stale.length > 0) {
      console.error(`src/csi/proto is stale (${stale.join(', ')}): run make generate`);
      process.exit(1);
    }
  } else {
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { recursive: true });
    cpSync(scratch, target, { recursive: true });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
