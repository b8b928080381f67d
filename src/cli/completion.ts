// `secretsync completion bash|zsh`: a completion script built from the
// commands and options the CLI really has, so it cannot drift from them.
import type { Command } from 'commander';

function words(program: Command): { commands: string[]; options: Record<string, string[]> } {
  const commands = program.commands.map((c) => c.name());
  const options = Object.fromEntries(program.commands.map((c) => [c.name(), [...c.options.map((o) => o.long ?? o.short ?? ''), '--help'].filter(Boolean)]));
  return { commands: [...commands, 'run'], options };
}

export function completion(program: Command, shell: string): string {
  const { commands, options } = words(program);
  const cases = Object.entries(options).map(([c, opts]) => `    ${c}) opts="${opts.join(' ')}" ;;`).join('\n');
  const bash = `# secretsync bash completion: source <(secretsync completion bash)
_secretsync() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} opts=""
  if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=($(compgen -W "${commands.join(' ')}" -- "$cur")); return; fi
  case "$cmd" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -o filenames -F _secretsync secretsync
`;
  if (shell === 'bash') return bash;
  if (shell === 'zsh') return `#compdef secretsync\n# secretsync zsh completion: source <(secretsync completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
  throw new Error(`unsupported shell "${shell}": bash or zsh`);
}
