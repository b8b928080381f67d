#!/usr/bin/env node
// Entry point of the one bundle: `secretsync run [flags]` (or flags alone, as
// the Deployment starts it) runs the operator; `secretsync csi-provider` the
// Secrets Store CSI driver plugin (the chart's DaemonSet); `secretsync
// <command>` runs the CLI for GitOps repos. Each loads only its own code (separate chunks), so the
// CLI adds nothing to the operator's memory.
// Anything older fails deep inside a chunk with a TypeError and a screenful of minified code:
// say what is needed, in one line, before loading any of it.
const NODE_MAJOR = 24;
if (Number(process.versions.node.split('.')[0]) < NODE_MAJOR) {
  process.stderr.write(`secretsync needs Node.js ${NODE_MAJOR} or newer; ${process.execPath} is ${process.version}\n`);
  process.exit(1);
}

const CLI_COMMANDS = new Set(['validate', 'render', 'diff', 'migrate', 'release-eso', 'explain', 'completion', 'help', '--help', '-h', '--version', '-V']);

const command = process.argv[2];
if (command !== undefined && CLI_COMMANDS.has(command)) {
  const { runCli } = await import('./cli/main.js');
  process.exitCode = await runCli(process.argv);
} else if (command === 'csi-provider') {
  await import('./csi-main.js');
} else {
  if (command === 'run') process.argv.splice(2, 1);
  await import('./operator-main.js');
}
