// The `secretsync` CLI for GitOps repos: validate, render, diff, migrate and
// explain work on files, offline unless a command needs a cluster (diff) or
// is given --kubeconfig. Exit codes: 0 fine, 1 errors found or the command
// failed, 2 diff found differences.
import { Argument, Command, Option } from 'commander';
import { completion } from './completion.js';
import { diff } from './diff.js';
import { explain } from './explain.js';
import { migrate } from './migrate.js';
import { releaseEso } from './release-eso.js';
import { render } from './render.js';
import { validate } from './validate.js';

const EXIT_CODES = `
Exit codes:
  0  success (validate: no errors; diff: no differences)
  1  errors found, or the command failed
  2  diff: the cluster differs from the files`;

const migrateHelpText = '\nExamples:\n  secretsync migrate eso/ --out-dir converted/\n  secretsync migrate es.yaml > es.secretsync.yaml\n  kubectl get externalsecrets.external-secrets.io -n team-a -o yaml | secretsync migrate -\n\nTakes files as written and as exported (kubectl get ... -o yaml: a List, with status and server fields, which are removed).\nA field secretsync drops or changes on purpose is a warning; one it has no equivalent for is an error, and that\ndocument is written back as it was. Each names the file, the line, the field and what to do. Exits 1 on any error.';

export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command()
    .name('secretsync')
    .description('Checks, renders, compares and converts ExternalSecret manifests. `secretsync run --help` shows the operator\'s own flags.')
    .version('0.1.0')
    .addHelpText('after', `\nExamples:\n  secretsync validate deploy/\n  secretsync render es.yaml --store store.yaml\n  secretsync explain StoreNotAllowed\n${EXIT_CODES}`)
    .showHelpAfterError()
    .exitOverride();

  program
    .command('validate')
    .description('check secretsync manifests against the CRD schemas, their CEL rules and the operator\'s own checks, offline')
    .argument('<inputs...>', 'files, directories (searched for .yaml, .yml, .json) or - for stdin')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText('after', '\nExample:\n  secretsync validate deploy/ --output json\n\nPrints file:line: message for each problem; exits 1 on any error.')
    .action(async (inputs: string[], opts: { output: 'text' | 'json' }) => onExit(await validate(inputs, opts)));

  program
    .command('render')
    .description('print the Secret an ExternalSecret would produce (values masked)')
    .argument('<externalsecret>', 'file with the ExternalSecret(s), or - for stdin')
    .option('--store <file>', 'file with the SecretStore/ClusterSecretStore (and any credential Secrets it references)')
    .option('--values <file>', 'YAML or JSON map of key: value to render templates from, with no provider')
    .option('--show-values', 'print the values instead of masking them', false)
    .option('-n, --namespace <ns>', 'namespace for objects that name none')
    .option('--kubeconfig <file>', 'read stores, credential Secrets and templateFrom sources missing from the files from this cluster')
    .addHelpText('after', '\nExamples:\n  secretsync render es.yaml --store store.yaml\n  secretsync render es.yaml --values test-values.yaml --show-values\n\nProvider credentials come from Secrets in the files, the cluster (--kubeconfig), or, for a store\nwithout explicit auth, the SDK\'s usual environment (AWS_*, GOOGLE_APPLICATION_CREDENTIALS). The fake\nprovider needs none.')
    .action(async (file: string, opts: { store?: string; values?: string; showValues: boolean; namespace?: string; kubeconfig?: string }) =>
      onExit(await render(file, opts, { useCluster: false, kubeconfig: opts.kubeconfig, namespace: opts.namespace })),
    );

  program
    .command('diff')
    .description('show what would change in each ExternalSecret\'s Secret in the cluster (digests, never values)')
    .argument('<inputs...>', 'files or directories with ExternalSecrets (and their stores, or read from the cluster)')
    .option('-n, --namespace <ns>', 'namespace for objects that name none (default: the context\'s)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG or ~/.kube/config)')
    .addHelpText('after', `\nExample:\n  secretsync diff deploy/app/ -n app\n${EXIT_CODES}`)
    .action(async (inputs: string[], opts: { namespace?: string; kubeconfig?: string }) => onExit(await diff(inputs, { useCluster: true, kubeconfig: opts.kubeconfig, namespace: opts.namespace })));

  program
    .command('migrate')
    .description('convert External Secrets Operator manifests (external-secrets.io v1, v1beta1) into secretsync manifests')
    .argument('<inputs...>', 'files or directories, or - for stdin')
    .option('-w, --write', 'rewrite the files in place', false)
    .option('--out-dir <dir>', 'write converted files under this directory (same relative paths)')
    .addHelpText('after', migrateHelpText)
    .action(async (inputs: string[], opts: { write: boolean; outDir?: string }) => onExit(await migrate(inputs, opts)));

  program
    .command('release-eso')
    .description('after an in-place cutover: delete External Secrets Operator\'s ExternalSecrets whose Secrets secretsync now holds, removing ESO\'s finalizer (only a running ESO would)')
    .option('-n, --namespace <ns>', 'namespace to release in (default: the context\'s)')
    .option('-A, --all-namespaces', 'release in every namespace', false)
    .option('--dry-run', 'say what would be released, change nothing', false)
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG or ~/.kube/config)')
    .addHelpText('after', '\nExamples:\n  secretsync release-eso -n team-a --dry-run\n  secretsync release-eso --all-namespaces\n\nAn ESO ExternalSecret is released only when its Secret carries secretsync\'s label and owner annotation,\nthat ExternalSecret of secretsync\'s exists, and none of ESO\'s label or ownerReferences is left; every\nother one is kept, with the reason. Exits 1 when any is kept (see docs/migrating-from-eso.md).')
    .action(async (opts: { namespace?: string; allNamespaces: boolean; dryRun: boolean; kubeconfig?: string }) =>
      onExit(await releaseEso({ allNamespaces: opts.allNamespaces, dryRun: opts.dryRun }, { useCluster: true, kubeconfig: opts.kubeconfig, namespace: opts.namespace })));

  program
    .command('explain')
    .description('what a Ready=False (or store) reason means and what to do')
    .argument('[reason]', 'a reason such as StoreNotAllowed; none lists them all')
    .addHelpText('after', '\nExample:\n  secretsync explain ProviderThrottled')
    .action((reason?: string) => onExit(explain(reason)));

  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .addHelpText('after', '\nExample:\n  source <(secretsync completion bash)')
    .action((shell: string) => {
      process.stdout.write(completion(program, shell));
      onExit(0);
    });
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  // Output piped into `head` and closed early is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  let code = 0;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // commander's own exits (help, version, usage errors) carry their code and have said why.
    const exit = (err as { exitCode?: number; code?: string }).exitCode;
    if (exit !== undefined) return exit;
    // Anything else is a bug or an unreadable input: said in one line, never silently.
    process.stderr.write(`secretsync: error: ${(err as Error).message ?? String(err)}\n`);
    return 1;
  }
  return code;
}
