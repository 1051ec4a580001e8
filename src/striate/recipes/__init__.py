"""The recipes that ship with striate (YAML experiment files, and network specs in ``nets/``), found by
name wherever striate is installed: ``striate train mnist-fast`` reads ``mnist-fast.yaml`` from here, and
in a checkout ``recipes/`` is a link to this folder, so ``recipes/mnist-fast.yaml`` names the same file.

>>> find_recipe("mnist-fast").name
'mnist-fast.yaml'
>>> find_recipe("recipes/nets/lenet5.yaml").parent.name
'nets'
"""

import shutil
from pathlib import Path

from striate.errors import ConfigError

FOLDER = Path(__file__).resolve().parent
SUFFIXES = (".yaml", ".yml")


def find_recipe(name: str | Path) -> Path | None:
    """The file ``name`` names: a path that exists, or a shipped recipe by its name (``mnist-fast``,
    ``classics/relu-tanh-cifar10``, ``nets/lenet5.yaml``), also when given as ``recipes/...`` from a
    folder that has no ``recipes/`` of its own; None when neither exists."""
    path = Path(name)
    if path.is_file():
        return path
    parts = path.parts[1:] if path.parts[:1] == ("recipes",) else path.parts
    if not parts or ".." in parts or path.is_absolute():
        return None
    relative = Path(*parts)
    for candidate in (relative, relative.with_name(relative.name + ".yaml")):
        shipped = FOLDER / candidate
        if shipped.suffix in SUFFIXES and shipped.is_file():
            return shipped
    return None


def list_recipes() -> list[tuple[str, str]]:
    """(name, first comment line) of every shipped recipe, network specs included (``nets/...``)."""
    found = []
    for path in sorted(FOLDER.rglob("*.yaml")):
        name = path.relative_to(FOLDER).with_suffix("").as_posix()
        first = next((line.lstrip("# ").strip() for line in path.read_text().splitlines() if line.startswith("#")), "")
        found.append((name, first))
    return found


def copy_recipe(name: str, destination: str | Path = ".") -> Path:
    """Copy a shipped recipe to ``destination`` (a folder, or a file name), to change it; an existing file
    is never overwritten."""
    source = find_recipe(name) if not Path(name).is_file() else None
    if source is None:
        known = ", ".join(recipe for recipe, _ in list_recipes())
        raise ConfigError(f"no shipped recipe '{name}'; the recipes are: {known}")
    target = Path(destination)
    if target.is_dir():
        target = target / source.name
    if target.exists():
        raise ConfigError(f"{target} exists; give another destination (striate recipes copy {name} NEW.yaml)")
    shutil.copyfile(source, target)
    return target


__all__ = ["FOLDER", "copy_recipe", "find_recipe", "list_recipes"]
