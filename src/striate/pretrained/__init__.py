"""Pretrained networks that ship with striate, each a small run directory (model.json, config.yaml,
best.safetensors, summary.json, metrics.jsonl) with a MODEL_CARD.md: trained by striate's own recipes,
so every command that reads a run reads them by name (``striate filters lenet5-mnist``, ``striate serve
lenet5-mnist``), and ``model.weights: lenet5-mnist`` starts a run from their weights.

>>> find_pretrained("lenet5-mnist").name
'lenet5-mnist'
>>> find_pretrained("runs/something-else") is None
True
"""

import json
from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def find_pretrained(name: str | Path) -> Path | None:
    """The shipped run directory called ``name``; None when there is none (or ``name`` is an existing path)."""
    text = str(name)
    if not text or "/" in text or "\\" in text or text.startswith(".") or Path(text).exists():
        return None
    folder = FOLDER / text
    return folder if (folder / "model.json").is_file() else None


def list_pretrained() -> list[dict]:
    """Name, model, data, test figure, parameters and the card's first line of each shipped network."""
    found = []
    for folder in sorted(path for path in FOLDER.iterdir() if (path / "model.json").is_file()):
        meta = json.loads((folder / "model.json").read_text())
        summary = json.loads((folder / "summary.json").read_text())
        card = (folder / "MODEL_CARD.md").read_text().splitlines()
        found.append({"name": folder.name, "model": meta["model"]["name"], "data": meta["data"]["source"],
                      "classes": len(meta["class_names"]), "test_accuracy": summary.get("test_accuracy"),
                      "parameters": summary.get("parameters"), "card": card[0].lstrip("# ") if card else ""})
    return found


__all__ = ["FOLDER", "find_pretrained", "list_pretrained"]
