"""The run report's sections, one function each. Every function takes the :class:`ReportContext`
and returns a :class:`Section`; a part the run did not record (its layer monitors) says "not recorded"
instead of failing."""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from striate.diagnose.advice import advise_history
from striate.inspect import summary as inspect_summary
from striate.session import Run
from striate.training.config import config_to_dict
from striate.visualize import report_html as h
from striate.visualize.confusion import most_confused_pairs, plot_confusion, plot_top_losses, top_losses
from striate.visualize.curves import plot_training_curves
from striate.visualize.feature_maps import plot_feature_maps
from striate.visualize.filters import conv_layers, plot_filters
from striate.visualize.monitors import monitor_series, plot_monitors
from striate.visualize.occlusion import occlusion_map, plot_occlusion
from striate.visualize.projections import plot_deconvnet, plot_guided_backprop, top_projections
from striate.visualize.saliency import plot_saliency
from striate.visualize.top_patches import plot_top_patches, top_activating_patches

TOP_PATCH_CHANNELS = 8


@dataclass
class ReportContext:
    run: Run
    history: list[dict]  # per-epoch figures (metrics.jsonl)
    steps: list[dict]  # per-step learning rates, when recorded
    summary: dict  # summary.json ({} when absent)
    scratch: Path  # a temporary folder for the pictures
    evaluation: dict = field(default_factory=dict)  # test figures from striate.training.loop.evaluate

    def picture(self, name: str, draw, *args, **kwargs) -> bytes:
        """Draw into scratch/name with ``draw(..., path, ...)`` and return the PNG bytes."""
        path = self.scratch / f"{name}.png"
        draw(*args, path, **kwargs)
        return path.read_bytes()


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def overview(context: ReportContext) -> h.Section:
    s, meta = context.summary, context.run.meta
    test = context.run.task.headline(context.evaluation)  # test accuracy, balanced accuracy, macro F1, ROC AUC
    pairs = [*test[:1], ("best validation accuracy", _percent(s.get("best_val_accuracy"))), *test[1:],
             ("best epoch", f"{s.get('best_epoch', 'n/a')} of {s.get('epochs', len(context.history))}"),
             ("parameters", f"{s.get('parameters', 0):,}"), ("training time", f"{s.get('train_seconds', 0):.1f} s")]
    model = meta["model"]
    text = (f"Model {model['name']} on {meta['data']['source']} data "
            f"({len(meta['class_names'])} classes, input {'x'.join(map(str, meta['input_shape']))}).")
    return h.Section("overview", "Overview", [h.headline_figures(pairs), h.paragraph(text)])


def configuration(context: ReportContext) -> h.Section:
    text = yaml.safe_dump(config_to_dict(context.run.config), sort_keys=False)
    return h.Section("config", "Configuration", [h.paragraph("The resolved recipe of this run (config.yaml)."),
                                                 h.preformatted(text)])


def model_summary(context: ReportContext) -> h.Section:
    section = h.Section("summary", "Model summary and receptive fields")
    result = inspect_summary(context.run.model, context.run.input_shape)
    rows = [[row.name, row.kind, "x".join(map(str, row.output_shape)), row.params, row.macs, row.activation_bytes,
             _blank(row.rf_size), _blank(row.rf_jump), _blank(row.rf_start)] for row in result.rows]
    rows.append(["total", "", "", result.total_params, result.total_macs, result.total_activation_bytes, "", "", ""])
    headers = ["layer", "kind", "output shape", "parameters", "MACs", "activation bytes", "RF size", "RF jump", "RF start"]
    section.parts += [h.paragraph("Each layer's output shape, cost for one image, and receptive field (size and jump in "
                                  "input pixels; start: centre of the first output position, pixel i centred at i)."),
                      h.table(headers, rows)]
    return section


def _blank(value):
    return "" if value is None else value


def curves(context: ReportContext) -> h.Section:
    png = context.picture("curves", plot_training_curves, context.history, steps=context.steps or None)
    lr = "per step" if context.steps else "at the start of each epoch"
    return h.Section("curves", "Training curves", [h.image_tag(png, "training curves", f"Loss and accuracy per epoch, "
                                                               f"training against validation; learning rate {lr}.")])


def final_figures(context: ReportContext) -> h.Section:
    figures, run = context.evaluation, context.run
    text = (f"Best weights on the test split: accuracy {_percent(figures['accuracy'])}, "
            f"loss {figures['loss']:.4f}, {figures['count']} images.")
    parts = [h.paragraph(text)]
    for title, headers, rows in run.task.tables(figures, run.class_names)[:1]:  # per class (the confusion is drawn below)
        parts += ([h.paragraph(title[0].upper() + title[1:] + ".")] if title else []) + [h.table(headers, rows)]
    return h.Section("final", "Final figures", parts)


def confusion(context: ReportContext) -> h.Section:
    names = context.run.class_names
    matrix = context.evaluation["confusion"]
    png = context.picture("confusion", plot_confusion, matrix, names)
    pairs = [[names[t], names[p], n] for t, p, n in most_confused_pairs(matrix, 10)]
    parts = [h.image_tag(png, "confusion matrix", "Rows: true class; columns: predicted class.")]
    parts.append(h.table(["true class", "predicted as", "images"], pairs) if pairs else h.paragraph("No test image was misclassified."))
    return h.Section("confusion", "Confusion matrix and most confused pairs", parts)


def losses(context: ReportContext) -> h.Section:
    run = context.run
    found = top_losses(run.model, run.loader(), k=16)
    png = context.picture("top_losses", plot_top_losses, found, mean=run.mean, std=run.std, class_names=run.class_names)
    return h.Section("top-losses", "Top losses", [h.image_tag(png, "top losses", "The 16 test images with the highest loss.", 900)])


def filters(context: ReportContext) -> h.Section:
    section = h.Section("filters", "Learned filters")
    convs = conv_layers(context.run.model)
    if not convs:
        section.parts.append(h.note("This model has no convolution layer, so there are no filters to show."))
        return section
    png = context.picture("filters", plot_filters, context.run.model)
    section.parts.append(h.image_tag(png, "first-layer filters", f"The kernels of {convs[0][0]}.", 800))
    if len(convs) > 1:
        png = context.picture("filters2", plot_filters, context.run.model, layer=convs[1][0], max_filters=16)
        section.parts.append(h.image_tag(png, "second-layer filters", f"{convs[1][0]} per input channel.", 900))
    return section


def one_image(context: ReportContext) -> h.Section:
    run = context.run
    image, label = run.image(0)
    section = h.Section("one-image", "One test image through the network")
    png = context.picture("maps", plot_feature_maps, run.model, image, None, max_channels=32)
    section.parts.append(h.image_tag(png, "feature maps", f"Feature maps of the first test image (class {run.class_names[label]}).", 900))
    if conv_layers(run.model):
        png = context.picture("saliency", plot_saliency, run.model, image, None, mean=run.mean, std=run.std,
                              class_names=run.class_names)
        section.parts.append(h.image_tag(png, "saliency", "Gradient saliency and Grad-CAM for the predicted class.", 900))
    return section


def top_patches(context: ReportContext) -> h.Section:
    run = context.run
    section = h.Section("top-patches", "Top activating patches")
    layer = _patch_layer(run)
    if layer is None:
        section.parts.append(h.note("No convolution layer whose receptive field is smaller than the image: no patches to show."))
        return section
    found = top_activating_patches(run.model, run.loader(), layer, None, k=9, input_shape=run.input_shape)
    found_channels = found.channels[:TOP_PATCH_CHANNELS]
    if len(found_channels) < len(found.channels):
        found = top_activating_patches(run.model, run.loader(), layer, found_channels, k=9, input_shape=run.input_shape)
    png = context.picture("patches", plot_top_patches, found, mean=run.mean, std=run.std, class_names=run.class_names)
    size = found.receptive_field[0]
    section.parts.append(h.image_tag(png, "top patches", f"For channels of {layer}: the 9 test images whose strongest "
                                                        f"position activates it most, cropped to its {size}x{size} receptive field.", 1000))
    return section


def pixels(context: ReportContext) -> h.Section:
    """Deconvnet projections of top activations, guided backpropagation and occlusion of the first test image."""
    run = context.run
    section = h.Section("pixels", "What units and classes respond to, in pixels")
    layer = _patch_layer(run)
    if layer is None:
        section.parts.append(h.note("No convolution layer whose receptive field is smaller than the image: "
                                    "no deconvnet projections to show."))
    else:
        found = top_projections(run.model, run.loader, layer, None, k=9, input_shape=run.input_shape)  # 4 channels
        png = context.picture("deconvnet", plot_deconvnet, found, mean=run.mean, std=run.std,
                              class_names=run.class_names)
        section.parts.append(h.image_tag(png, "deconvnet projections", f"Deconvnet (Zeiler and Fergus 2014): for "
                                         f"channels of {layer}, the 9 strongest activations in the test split, each "
                                         "patch above the projection of that one activation back to the pixels.", 1000))
    image, label = run.image(0)
    png = context.picture("guided_backprop", plot_guided_backprop, run.model, image, mean=run.mean, std=run.std,
                          class_names=run.class_names)
    section.parts.append(h.image_tag(png, "guided backpropagation", "Guided backpropagation (Springenberg et al. "
                                     "2015) of the predicted class for the first test image.", 600))
    found = occlusion_map(run.model, image, label)
    png = context.picture("occlusion", plot_occlusion, found, image, mean=run.mean, std=run.std,
                          class_names=run.class_names)
    section.parts.append(h.image_tag(png, "occlusion sensitivity", f"Occlusion: the probability of the true class "
                                     f"'{run.class_names[label]}' as a {found.size}x{found.size} grey square hides each "
                                     "part of the first test image.", 900))
    return section


def _patch_layer(run: Run) -> str | None:
    """The deepest convolution whose receptive field is smaller than the input (one inspector pass)."""
    table = inspect_summary(run.model, run.input_shape)
    fitting = [name for name, _ in conv_layers(run.model)
               if table.row(name).rf_size is not None and table.row(name).rf_size < run.input_shape[-1]]
    return fitting[-1] if fitting else None


def monitors(context: ReportContext) -> h.Section:
    section = h.Section("monitors", "Layer monitors")
    table = monitor_series(context.history)
    if not table:
        section.parts.append(h.note("Layer monitors not recorded for this run (train with the layer monitors on to see them)."))
        return section
    png = context.picture("monitors", plot_monitors, table)
    section.parts.append(h.image_tag(png, "layer monitors", "Per-layer statistics recorded each epoch."))
    return section


def bias_variance(context: ReportContext) -> h.Section:
    section = h.Section("advice", "Bias and variance")
    advice = advise_history(context.history, classes=context.evaluation or None, names=context.run.class_names)
    section.parts.append(f'<p class="verdict">Verdict: {h.escape(advice.verdict)}</p>')
    if advice.reasons:
        section.parts.append("<ul>" + "".join(f"<li>{h.escape(reason)}</li>" for reason in advice.reasons) + "</ul>")
    if advice.remedies:
        section.parts.append("<p><strong>What to try:</strong></p><ul>" +
                             "".join(f"<li>{h.escape(remedy)}</li>" for remedy in advice.remedies) + "</ul>")
    rows = [[name.replace("_", " "), f"{value:.4g}" if isinstance(value, float) else value]
            for name, value in advice.figures.items()]
    section.parts.append(h.table(["figure behind the verdict", "value"], rows))
    return section


SECTIONS = [overview, configuration, model_summary, curves, final_figures, confusion, losses, filters, one_image,
            top_patches, pixels, monitors, bias_variance]
