"""striate completion bash|zsh [--install]"""

import argparse
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("completion", help="print (or install) shell completion for bash or zsh",
                                   description="Tab completion of commands, options and recipe names. One command: "
                                               "'striate completion bash --install' (then open a new shell); or "
                                               "'eval \"$(striate completion bash)\"' in ~/.bashrc, "
                                               "'eval \"$(striate completion zsh)\"' in ~/.zshrc.")
    parser.add_argument("shell", choices=["bash", "zsh"])
    parser.add_argument("--install", action="store_true", help="bash: write it to ~/.local/share/bash-completion/"
                                                               "completions/striate, loaded by every new shell")
    parser.set_defaults(func=run)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return sorted(option for action in parser._actions for option in action.option_strings if option.startswith("--"))


def completion_table() -> dict[str, list[str]]:
    """What follows each command path: ``{"": commands, "train": options..., "transfer finetune": ...}``,
    read from the parser itself (so it never lists a command or option that does not exist)."""
    from striate.cli.main import build_parser
    from striate.recipes import list_recipes

    table = {}

    def walk(path: str, parser: argparse.ArgumentParser) -> None:
        children = _subcommands(parser)
        table[path] = sorted(children) + _options(parser)
        for name, child in children.items():
            walk(f"{path} {name}".strip(), child)

    walk("", build_parser())
    for command in ("train", "compare", "check", "lr-find", "data preview"):
        if command in table:
            table[command] += [name for name, _ in list_recipes() if not name.startswith("nets/")]
    return table


def bash_script() -> str:
    table = completion_table()
    cases = "\n".join(f'        "{path}") words="{" ".join(words)}" ;;' for path, words in table.items() if path)
    return f'''# bash completion for striate (made by 'striate completion bash')
_striate() {{
    local current="${{COMP_WORDS[COMP_CWORD]}}" path="" word words index
    for ((index = 1; index < COMP_CWORD; index++)); do
        word="${{COMP_WORDS[index]}}"
        [[ "$word" == -* ]] && break
        case "${{path:+$path }}$word" in
{cases}
        "") ;;
        *) break ;;
        esac
        path="${{path:+$path }}$word"
    done
    case "$path" in
{cases}
        "") words="{" ".join(table[""])}" ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$current"))
    [[ "$current" != -* ]] && COMPREPLY+=($(compgen -f -- "$current"))
}}
complete -o filenames -F _striate striate
'''


def zsh_script() -> str:
    return "# zsh completion for striate (made by 'striate completion zsh')\nautoload -U +X bashcompinit && bashcompinit\n" \
        + bash_script()


def run(args) -> int:
    script = bash_script() if args.shell == "bash" else zsh_script()
    if not args.install:
        print(script, end="")
        return 0
    from striate.errors import ConfigError
    from striate.files import atomic_write_bytes

    if args.shell != "bash":
        raise ConfigError("--install writes bash's completion folder; for zsh add 'eval \"$(striate completion zsh)\"' "
                          "to ~/.zshrc")
    target = Path.home() / ".local" / "share" / "bash-completion" / "completions" / "striate"
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, script.encode())
    print(f"completion written to {target}; open a new shell (bash-completion loads it by name)")
    return 0
