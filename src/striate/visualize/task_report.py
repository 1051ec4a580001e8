"""The report of a keypoint, segmentation or autoencoder run: the classifier report's overview,
configuration, model summary, curves and filters, with the task's own figures (mean IoU and per-class
IoU, keypoint RMSE and per-point error, reconstruction error) and its predictions picture.

>>> write_report("runs/fcn8s-mnist-canvas")      # doctest: +SKIP   (striate.visualize.report routes here)
"""

import tempfile
from pathlib import Path
from types import SimpleNamespace

from striate.visualize import report_html as h

# the curve each task draws beside its loss: key in metrics.jsonl, axis label, scale
CURVES = {"segmentation": (("miou", "mean IoU", 1.0), "per-pixel cross-entropy"),
          "keypoints": (("rmse", "RMSE (px per coordinate)", 1.0), "masked MSE (scaled coordinates)"),
          "autoencoder": (("psnr", "PSNR (dB)", 1.0), "reconstruction MSE")}


def build_task_sections(run_dir: str | Path, weights: str = "best", data_path: str | None = None) -> list[h.Section]:
    from striate.runs import RunPaths, load_run_model
    from striate.tasks.predict import evaluate_task_model
    from striate.train.config import load_recipe
    from striate.visualize.curves import read_metrics, read_step_records
    from striate.visualize.report import _build_one, _read_summary
    from striate.visualize.report_sections import ReportContext, configuration, filters, model_summary

    run_dir = Path(run_dir)
    model, meta = load_run_model(run_dir, weights)
    figures = evaluate_task_model(model, meta, run_dir, data_path)
    run = SimpleNamespace(root=run_dir, model=model, meta=meta, input_shape=tuple(meta["input_shape"]),
                          config=load_recipe(RunPaths(run_dir).config))
    with tempfile.TemporaryDirectory(prefix="striate-report-") as scratch:
        context = ReportContext(run, read_metrics(run_dir), read_step_records(run_dir), _read_summary(run_dir),
                                Path(scratch), figures)
        builders = [overview, configuration, model_summary, curves, final_figures, predictions, filters]
        return [_build_one(builder, context) for builder in builders]


def overview(context) -> h.Section:
    from striate.tasks.pipeline import format_task_figures

    s, meta, figures = context.summary, context.run.meta, context.evaluation
    headline = {"segmentation": [("test mean IoU", f"{figures.get('miou', float('nan')):.4f}"),
                                 ("test pixel accuracy", f"{100 * figures.get('pixel_accuracy', float('nan')):.2f}%")],
                "keypoints": [("test RMSE", f"{figures.get('rmse', float('nan')):.3f} px")],
                "autoencoder": [("test reconstruction MSE", f"{figures.get('mse', float('nan')):.5f}"),
                                ("PSNR", f"{figures.get('psnr', float('nan')):.2f} dB")]}[meta["task"]]
    pairs = headline + [("best epoch", f"{s.get('best_epoch', 'n/a')} of {s.get('epochs', len(context.history))}"),
                        ("parameters", f"{s.get('parameters', 0):,}"),
                        ("training time", f"{s.get('train_seconds', 0):.1f} s")]
    text = (f"{meta['task'].capitalize()} model {meta['model']['name']}, input {'x'.join(map(str, meta['input_shape']))}; "
            f"test split: {format_task_figures(figures)} on {figures['count']} images "
            f"(best weights picked by {s.get('watch', 'the validation figure')}).")
    return h.Section("overview", "Overview", [h.headline_figures(pairs), h.paragraph(text)])


def curves(context) -> h.Section:
    from striate.visualize.curves import plot_training_curves

    figure, loss_label = CURVES[context.run.meta["task"]]
    png = context.picture("curves", plot_training_curves, context.history, steps=context.steps or None,
                          figure=figure, loss_label=loss_label)
    return h.Section("curves", "Training curves", [h.image_tag(png, "training curves", f"Loss and {figure[1]} per "
                                                               "epoch, training against validation; learning rate.")])


def final_figures(context) -> h.Section:
    figures, meta = context.evaluation, context.run.meta
    if "per_class_iou" in figures:
        rows = [[name, "n/a (absent)" if iou != iou else f"{iou:.4f}"]
                for name, iou in zip(meta["class_names"], figures["per_class_iou"])]
        table = h.table(["class", "IoU"], rows)
        text = "Intersection over union per class on the test split (a class absent from both truth and prediction has none)."
    elif "per_point_error" in figures:
        from striate.tasks.data import point_names

        names = point_names(meta["names"])
        rows = [[name, "n/a" if error != error else f"{error:.3f}"] for name, error in zip(names, figures["per_point_error"])]
        table = h.table(["keypoint", "error (px, Euclidean RMSE)"], rows)
        text = "Root-mean-square distance between predicted and true positions, per keypoint, over the points present."
    else:
        rows = [["mean squared error per pixel", f"{figures['mse']:.5f}"], ["PSNR", f"{figures['psnr']:.2f} dB"]]
        table = h.table(["figure", "value"], rows)
        text = "Reconstruction error on the test split, pixels in 0..1."
    return h.Section("final", "Final figures", [h.paragraph(text), table])


def predictions(context) -> h.Section:
    picture = context.run.root / "predictions.png"
    section = h.Section("predictions", "Predictions on test images")
    if not picture.is_file():
        section.parts.append(h.note("predictions.png was not written (the run did not finish)."))
        return section
    caption = {"segmentation": "Rows: the image, the true mask, the predicted mask (background left clear).",
               "keypoints": "True points (green circles) and predicted points (red crosses).",
               "autoencoder": "Originals above, their reconstructions below."}[context.run.meta["task"]]
    section.parts.append(h.image_tag(picture.read_bytes(), "predictions", caption, 900))
    return section
