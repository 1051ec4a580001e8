"""The end of every run: the best weights evaluated on the test split by the task's own meter, the task's
picture, and summary.json / summary.txt written by one writer.

>>> result = finish(paths, model, prepared, config, "cpu", best)   # doctest: +SKIP
>>> result["summary"]["test_accuracy"]                             # doctest: +SKIP
"""

from striate.session.prepare import Prepared, make_loader
from striate.session.rundir import RunPaths, read_history, write_summary
from striate.training.checkpoint import load_weights
from striate.training.loop import evaluate


def finish(paths: RunPaths, model, prepared: Prepared, config, device, best: dict, machine: dict | None = None) -> dict:
    """Evaluate the best weights on the test split, draw the task's picture, write the summary; returns the
    run directory, the history, the test figures and the summary."""
    task, metric = prepared.task, prepared.task.metric
    history = read_history(paths)
    model.load_state_dict(load_weights(paths.weights("best")))
    test_loader = make_loader(prepared, "test", config, device, train=False)
    test = evaluate(model, test_loader, task)
    best_figures = history[best["epoch"] - 1] if best["epoch"] and len(history) >= best["epoch"] else {}
    summary = {"run": str(paths.root), "task": task.name, "metric": metric, "best_epoch": best["epoch"],
               "watch": prepared.watch.name, "best_value": best["value"],
               "best_is": f"the last epoch: {prepared.watch.last_because}" if prepared.watch.last_because
               else f"the best {prepared.watch.name}",
               f"best_val_{metric}": best_figures.get(f"val_{metric}"), **task.summary(test),
               "epochs": len(history), "train_seconds": sum(f["seconds"] for f in history),
               f"final_train_{metric}": history[-1].get(f"train_{metric}") if history else None,
               # the last epoch's weights on a fixed training sample in eval mode: what advise sets against validation
               f"final_train_eval_{metric}": history[-1].get(f"train_eval_{metric}") if history else None,
               "parameters": sum(p.numel() for p in model.parameters()), **(machine or {})}
    summary["test"] = {name: value for name, value in test.items() if name != "confusion"}  # per class, per point
    if test.get("confusion"):  # the images of each class (the confusion's rows): advise weighs per-class recall by them
        summary["test"]["per_class_count"] = [sum(row) for row in test["confusion"]]
    picture = task.picture(model, test_loader, paths.root / "predictions.png")
    if picture is not None:
        summary["picture"] = str(picture)
    if config.run.eval_train:  # the training split measured as the test split is: the honest train/test gap
        train = evaluate(model, make_loader(prepared, "train", config, device, train=False), task)
        summary[f"train_eval_{metric}"] = train[metric]
    model_line = f"{config.model.name} ({summary['parameters']:,} parameters), task {task.name}"
    write_summary(paths, summary, model_line, best, prepared.watch.name,
                  f"{task.describe(test)} on {test['count']} images")
    return {"run_dir": paths.root, "history": history, "test": test, "summary": summary}
