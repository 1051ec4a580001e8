"""From a :class:`Config` whose ``data.task`` is keypoints, segmentation or autoencoder to a finished run
directory, through the same ``fit`` as classification (striate.train.loop) with the task's loss and meter.

>>> result = train_task_from_config(load_recipe("recipes/fcn8s-mnist-canvas.yaml"))   # doctest: +SKIP
>>> result["test"]["miou"]                                                          # doctest: +SKIP
0.71
"""

from dataclasses import dataclass

import striate
from striate.data import fit_to_size, load_source, make_splits
from striate.data.augment import build_augment
from striate.data.preprocess import fit_preprocess, make_normalizer
from striate.errors import ConfigError
from striate.layers import init_weights
from striate.models import create_model, model_task
from striate.models.spec import is_spec_path
from striate.pipeline import _make_monitor, resolve_device, seed_everything, source_options, write_run_files
from striate.runs import RunPaths, new_run_dir, read_history, write_summary
from striate.tasks.data import TargetSet, random_splits, read_keypoints, read_mask_folder, swap_map
from striate.tasks.loader import TaskLoader
from striate.tasks.metrics import median_frequency_weights
from striate.tasks.task import AutoencoderTask, KeypointTask, SegmentationTask, Task, check_task_name
from striate.train.checkpoint import load_weights
from striate.train.config import Config
from striate.train.distributed import world_from_environment
from striate.train.loop import StepOptions, evaluate
from striate.train.runner import check_config, prepare_model, run_training

# the kind of registered model each task trains (keypoint regressors have a classifier's interface)
MODEL_KIND = {"keypoints": "classification", "segmentation": "segmentation", "autoencoder": "autoencoder"}


@dataclass
class TaskData:
    task: Task
    splits: dict[str, TargetSet]
    outputs: int  # the model's num_classes: 2K coordinates, C classes, or 0
    names: list[str]  # keypoint coordinate names or class names


def prepare_task_data(config: Config) -> TaskData:
    """Read and split the data of ``config.data.task``; the task object knows its targets."""
    data = config.data
    if data.task == "keypoints":
        every = read_keypoints(data.path)
        task = KeypointTask(every.images.shape[-1], swap_map(every.names))
        return TaskData(task, random_splits(every, data.val_fraction, data.test_fraction, data.split_seed),
                        every.targets.shape[1], every.names)
    if data.task == "segmentation":
        every = read_mask_folder(data.path)
        splits = random_splits(every, data.val_fraction, data.test_fraction, data.split_seed)
        weights = None
        if config.optim.class_balance == "median_frequency":  # from the training masks only
            weights = median_frequency_weights(splits["train"].targets, len(every.names), data.ignore_index)
        return TaskData(SegmentationTask(len(every.names), data.ignore_index, weights), splits, len(every.names),
                        every.names)
    raw = make_splits(load_source(data.source, data.path, **source_options(config)), data.val_fraction,
                      data.test_fraction, data.split_seed)
    splits = {name: TargetSet(fit_to_size(part.images, data.input_size, data.fit), part.labels, part.class_names)
              for name, part in raw.items()}
    return TaskData(AutoencoderTask(), splits, 0, raw["train"].class_names)


def check_task_model(config: Config) -> None:
    """Refuse a model whose output does not fit the task (before any data is read)."""
    name = config.model.name
    wanted = MODEL_KIND[config.data.task]
    if not is_spec_path(name) and model_task(name) != wanted:
        from striate.models import list_models

        raise ConfigError(f"model '{name}' does not fit data.task {config.data.task}; use one of "
                          f"{', '.join(list_models(wanted))}")


def build_task_model(config: Config, prepared: TaskData, preprocess: dict):
    """The model for the task, with the shapes the data gives."""
    args = {"num_classes": prepared.outputs, "in_channels": preprocess["channels"],
            "input_size": preprocess["input_size"], **config.model.args}
    return create_model(config.model.name, **args), args


def _preprocess(config: Config, train: TargetSet) -> dict:
    shape = list(train.images.shape[1:])
    size = config.data.input_size if config.data.task == "autoencoder" else shape[1]
    return {"channels": shape[0], "native_size": shape[1:], "input_size": size, "fit": config.data.fit,
            **fit_preprocess(train.images, config.data.normalize, config.data.whiten_epsilon)}


def task_loader(part: TargetSet, task: Task, preprocess: dict, config: Config, device, train: bool) -> TaskLoader:
    augment = build_augment(config.data.augment, preprocess) if train else None
    return TaskLoader(part, task, config.optim.batch_size if train else 256, make_normalizer(preprocess, device),
                      shuffle=train, seed=config.run.seed, device=device, augment=augment)


def task_watch(config: Config, task: Task) -> tuple[str, ...]:
    """The figures optim.watch may name for ``task``; the classifier default (val_accuracy) becomes the
    task's own figure (val_miou, val_rmse, val_mse) in ``config``."""
    if config.optim.watch == "val_accuracy":
        config.optim.watch = f"val_{task.metric}"
    return tuple(f"{split}_{name}" for split in ("val", "train") for name in ("loss", *task.figures))


def train_task_from_config(config: Config, recipe_name: str = "run", stream=None, resume: RunPaths | None = None) -> dict:
    """Train a keypoint, segmentation or autoencoder model as ``config`` says; returns the run and figures.

    The session is classification's (striate.train.runner.run_training): checkpoints every epoch, exact
    ``--resume``, the NaN stop, logs, precision, early stopping, all with the task's loss and figures.
    """
    check_task_name(config.data.task)
    if config.data.folds > 1 or config.data.loader != "device":
        raise ConfigError(f"data.task {config.data.task} trains with data.folds 0 and data.loader device only; "
                          "drop --folds / --data.loader streaming")
    if world_from_environment().enabled:
        raise ConfigError(f"data.task {config.data.task} trains in one process; run it without torchrun "
                          "(DistributedDataParallel is for classification)")
    check_task_model(config)
    device = resolve_device(config.run.device)
    seed_everything(config.run.seed)
    prepared = prepare_task_data(config)
    task, splits = prepared.task, prepared.splits
    preprocess = _preprocess(config, splits["train"])
    if preprocess.get("arrays"):
        raise ConfigError(f"data.normalize '{config.data.normalize}' is for classifiers; use channel or none")
    preprocess.pop("arrays", None)
    model, model_args = build_task_model(config, prepared, preprocess)
    model = prepare_model(init_weights(model, config.model.init), config, device)
    train_loader = task_loader(splits["train"], task, preprocess, config, device, train=True)
    val_loader = task_loader(splits["val"], task, preprocess, config, device, train=False)
    check_config(config, model, len(train_loader), device, watchable=task_watch(config, task))
    paths = resume or _new_task_run(config, recipe_name, prepared, model_args, preprocess)
    _, best = run_training(model, train_loader, val_loader, config, paths, prepared.outputs, stream=stream,
                           resume=resume is not None, make_monitor=_make_monitor(config), task=task)
    return _finish(paths, model, prepared, preprocess, config, device, best)


def _new_task_run(config: Config, recipe_name: str, prepared: TaskData, model_args: dict, preprocess: dict) -> RunPaths:
    paths = RunPaths(new_run_dir(config.run.out_dir, config.run.name, recipe_name))
    meta = {"striate_version": striate.__version__, "task": prepared.task.name,
            "model": {"name": config.model.name, "args": model_args}, "names": prepared.names,
            "class_names": prepared.names, "swap": getattr(prepared.task, "swap", None),
            "class_weights": None if getattr(prepared.task, "weights", None) is None else prepared.task.weights.tolist(),
            "input_shape": [preprocess["channels"], preprocess["input_size"], preprocess["input_size"]],
            "preprocess": preprocess, "data": {"source": config.data.source, "path": config.data.path}}
    write_run_files(paths, config, meta)
    return paths


def _finish(paths, model, prepared: TaskData, preprocess, config, device, best) -> dict:
    """Evaluate the best weights on the test split, draw the picture, write the summary."""
    from striate.tasks.pictures import draw_task_picture

    task = prepared.task
    history = read_history(paths)
    model.load_state_dict(load_weights(paths.weights("best")))
    test_loader = task_loader(prepared.splits["test"], task, preprocess, config, device, train=False)
    test = evaluate(model, test_loader, 0, options=StepOptions(task=task))
    picture = draw_task_picture(model, task, test_loader, paths.root / "predictions.png")
    summary = {"run": str(paths.root), "task": task.name, "metric": task.metric, "best_epoch": best["epoch"],
               "watch": config.optim.watch, "best_value": best["value"], "test": test, "epochs": len(history),
               "train_seconds": sum(f["seconds"] for f in history), "picture": str(picture),
               "parameters": sum(p.numel() for p in model.parameters())}
    write_summary(paths, summary, f"{config.model.name} ({summary['parameters']:,} parameters), task {task.name}",
                  best, config.optim.watch, f"{format_task_figures(test)} on {test['count']} images")
    return {"run_dir": paths.root, "history": history, "test": test, "summary": summary}


def format_task_figures(figures: dict) -> str:
    """'rmse 1.23 px', 'pixel accuracy 97.1%, mean IoU 0.712' or 'mse 0.0041 (PSNR 23.9 dB)'."""
    if "miou" in figures:
        return f"pixel accuracy {100 * figures['pixel_accuracy']:.2f}%, mean IoU {figures['miou']:.4f}"
    if "rmse" in figures:
        return f"rmse {figures['rmse']:.3f} px per coordinate ({figures['point_error']:.3f} px per point)"
    return f"reconstruction mse {figures['mse']:.5f} (PSNR {figures['psnr']:.2f} dB)"

