"""The transfer strategies side by side on the same splits of the new data.

    (a) fine-tune everything             source body + new head, all layers trained
    (b) scratch, bottom from source      new network, the bottom stages copied from the source, all trained
    (c) codes (last hidden) + linear SVM the source's forward_features codes, LIBLINEAR on top
    (d) codes (middle layer) + linear SVM the middle feature tap's codes (globally average pooled)
    (e) from scratch                     the baseline: a new network trained on the new data only

Accuracy is on the test split; time is wall-clock (codes: extraction plus the C search and fit);
trainable parameters are those the strategy fits.

>>> rows = compare_strategies("runs/mnist-0-4", config)   # doctest: +SKIP
"""

import copy
import time

from striate.console import get_logger
from striate.models import create_model
from striate.session import Start, load_run_model, prepare, resolve_device, seed_everything, train_run
from striate.training.freeze import body_stages, copy_bottom_stages, trainable_parameters
from striate.training.plan import TrainingPlan
from striate.transfer.codes import resolve_layer
from striate.transfer.data import split_codes
from striate.transfer.finetune import new_head
from striate.transfer.linear import fit_linear
from striate.transfer.source import load_source_model

_log = get_logger(__name__)


def _fresh_model(meta: dict, num_classes: int, device):
    return create_model(meta["model"]["name"], **{**meta["model"]["args"], "num_classes": num_classes}).to(device)


def _train_row(name: str, tag: str, model, meta: dict, prepared, config) -> dict:
    """One strategy trained as a run of its own through the session (its folder: ``<name>-<tag>``)."""
    config = copy.deepcopy(config)
    config.model.name = meta["model"]["name"]
    config.run.name = f"{config.run.name}-{tag}" if config.run.name else None
    model_args = {**meta["model"]["args"], "num_classes": len(prepared.names)}
    seed_everything(config.run.seed)
    _log.info(f"transfer compare: {name}: training {config.optim.epochs} epochs ...")
    started = time.perf_counter()
    trainable = trainable_parameters(model)
    result = train_run(config, f"transfer-{tag}", start=Start(model, model_args, TrainingPlan(), {}, prepared))
    return {"strategy": name, "accuracy": result["summary"]["test_accuracy"], "seconds": time.perf_counter() - started,
            "trainable_parameters": trainable, "run": str(result["run_dir"])}


def _codes_row(name: str, source_run: str, prepared, layer: str, formulation: str, device) -> dict:
    _log.info(f"transfer compare: {name}: codes of the {layer} layer, then the classifier ...")
    started = time.perf_counter()
    model, meta = load_run_model(source_run, "best", device)
    layer = resolve_layer(model, layer)
    codes = split_codes(model, {k: prepared.splits[k] for k in ("train", "test")}, meta["preprocess"], layer,
                        "avg", device)
    classifier = fit_linear(*codes["train"], formulation, prepared.splits["train"].class_names)
    return {"strategy": f"{name} ({layer}, {codes['train'][0].shape[1]}-d)",
            "accuracy": classifier.accuracy(*codes["test"]), "seconds": time.perf_counter() - started,
            "trainable_parameters": classifier.num_parameters}


def compare_strategies(source_run: str, config, init_stages: int | None = None,
                       formulation: str = "l2r_l2loss_svc", report=None) -> list[dict]:
    """Run the five strategies on ``config``'s data (the same splits for all); one row of figures each.
    ``init_stages``: how many bottom stages (b) copies (default: half of them); ``report(row)`` is called
    after each strategy."""
    device = resolve_device(config.run.device)
    prepared = prepare(config)
    num_classes = len(prepared.names)
    source, meta = load_source_model(source_run, device=device)
    rows = []

    def add(row: dict) -> None:
        rows.append(row)
        if report is not None:
            report(row)

    add(_train_row("(a) fine-tune everything", "a-finetune", new_head(source, num_classes), meta, prepared, config))
    donor, _ = load_source_model(source_run, device=device)
    stages = init_stages if init_stages is not None else len(body_stages(donor)) // 2
    model = _fresh_model(meta, num_classes, device)
    copy_bottom_stages(donor, model, stages)
    add(_train_row(f"(b) scratch, bottom {stages} stages from source", "b-bottom", model, meta, prepared, config))
    add(_codes_row("(c) codes + linear SVM", source_run, prepared, "features", formulation, device))
    add(_codes_row("(d) codes + linear SVM", source_run, prepared, "middle", formulation, device))
    seed_everything(config.run.seed)
    add(_train_row("(e) from scratch (baseline)", "e-scratch", _fresh_model(meta, num_classes, device), meta, prepared,
                   config))
    return rows


def format_rows(rows: list[dict]) -> list[list[str]]:
    return [[row["strategy"], f"{100 * row['accuracy']:.2f}%", f"{row['seconds']:.1f}",
             f"{row['trainable_parameters']:,}"] for row in rows]


TABLE_HEADERS = ["strategy", "test accuracy", "wall time (s)", "trainable parameters"]


def markdown_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(TABLE_HEADERS) + " |", "|" + "---|" * len(TABLE_HEADERS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in format_rows(rows)]
    return "\n".join(lines) + "\n"
