"""The report of a keypoint, segmentation or autoencoder run: the classifier report's overview,
configuration, model summary, curves and filters, with the task's own figures (mean IoU and per-class
IoU, keypoint RMSE and per-point error, reconstruction error) and its predictions picture.

>>> write_report("runs/fcn8s-mnist-canvas")      # doctest: +SKIP   (striate.visualize.report draws TASK_SECTIONS)
"""

from striate.visualize import report_html as h
from striate.visualize.curves import plot_training_curves
from striate.visualize.report_sections import configuration, filters, model_summary

def overview(context) -> h.Section:
    s, meta, figures, task = context.summary, context.run.meta, context.evaluation, context.run.task
    pairs = task.headline(figures) + [("best epoch", f"{s.get('best_epoch', 'n/a')} of {s.get('epochs', len(context.history))}"),
              ("parameters", f"{s.get('parameters', 0):,}"), ("training time", f"{s.get('train_seconds', 0):.1f} s")]
    text = (f"{task.name.capitalize()} model {meta['model']['name']}, input {'x'.join(map(str, meta['input_shape']))}; "
            f"test split: {task.describe(figures)} on {figures['count']} images "
            f"(best weights picked by {s.get('watch', 'the validation figure')}).")
    return h.Section("overview", "Overview", [h.headline_figures(pairs), h.paragraph(text)])


def curves(context) -> h.Section:
    task = context.run.task
    figure, loss_label = task.curve_figure, task.loss_label
    png = context.picture("curves", plot_training_curves, context.history, steps=context.steps or None,
                          figure=figure, loss_label=loss_label)
    return h.Section("curves", "Training curves", [h.image_tag(png, "training curves", f"Loss and {figure[1]} per "
                                                               "epoch, training against validation; learning rate.")])


def final_figures(context) -> h.Section:
    figures, run = context.evaluation, context.run
    parts = [h.paragraph(f"On the test split: {run.task.describe(figures)}.")]
    for title, headers, rows in run.task.tables(figures, run.names):
        parts += ([h.paragraph(title)] if title else []) + [h.table(headers, rows)]
    return h.Section("final", "Final figures", parts)


def predictions(context) -> h.Section:
    picture = context.run.root / "predictions.png"
    section = h.Section("predictions", "Predictions on test images")
    if not picture.is_file():
        section.parts.append(h.note("predictions.png was not written (the run did not finish)."))
        return section
    section.parts.append(h.image_tag(picture.read_bytes(), "predictions", context.run.task.picture_caption, 900))
    return section


TASK_SECTIONS = [overview, configuration, model_summary, curves, final_figures, predictions, filters]
