#!/usr/bin/env node
// Entry point of the one bundle: `secretsync run [flags]` (or flags alone, as
// the Deployment starts it) runs the operator; `secretsync <command>` runs the
// CLI for GitOps repos. Each loads only its own code (separate chunks), so the
// CLI adds nothing to the operator's memory.
const CLI_COMMANDS = new Set(['validate', 'render', 'diff', 'migrate', 'explain', 'completion', 'help', '--help', '-h', '--version', '-V']);

const command = process.argv[2];
if (command !== undefined && CLI_COMMANDS.has(command)) {
  const { runCli } = await import('./cli/main.js');
  process.exitCode = await runCli(process.argv);
} else {
  if (command === 'run') process.argv.splice(2, 1);
  await import('./operator-main.js');
}
