// Bundles the operator into dist/bundle/ with esbuild: one minified entry and
// lazily loaded chunks per provider SDK and template engine. Shipping the
// bundle instead of node_modules cuts the operator's resident memory by about
// 30 MiB (@kubernetes/client-node's generated API is mostly never called).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist/bundle', { recursive: true, force: true });

await build({
  entryPoints: ['src/main.ts'],
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  outExtension: { '.js': '.mjs' },
  // Some bundled CommonJS dependencies call require().
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
