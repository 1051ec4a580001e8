"""Every picture function, for a notebook: without a path it returns the matplotlib Figure (open, unwritten,
shown inline by Jupyter through its ``_repr_png_``); with one it writes the PNG and returns the path.

The pictures' content is tested beside each function; here only the two endings of finish_figure."""

import pickle
import subprocess
import sys

import pytest
import torch
from visualize_helpers import decode_png

from striate.diagnose.lr_finder import plot_lr_finder, summarize_sweep
from striate.session import open_run
from striate.tasks.pictures import draw_keypoints, draw_overlays, draw_reconstructions
from striate.visualize.confusion import plot_confusion, plot_top_losses, top_losses
from striate.visualize.curves import plot_training_curves, read_metrics
from striate.visualize.feature_maps import plot_feature_maps
from striate.visualize.filters import plot_filters
from striate.visualize.image_filters import plot_image_filters
from striate.visualize.monitors import plot_monitors
from striate.visualize.occlusion import occlusion_map, plot_occlusion
from striate.visualize.projections import plot_deconvnet, plot_guided_backprop, top_projections
from striate.visualize.saliency import plot_saliency
from striate.visualize.top_patches import plot_top_patches, top_activating_patches

MONITORS = {"grad_norm": {"conv1": [(1, 0.5), (2, 0.3)]}, "update_ratio": {"conv1": [(1, 1e-3), (2, 2e-3)]}}
LR_SWEEP = summarize_sweep([1e-4 * 1.3**i for i in range(30)], [2.0 - 0.05 * i for i in range(30)], 0.9, False)


def _image(run):
    return run.image(0)[0]


# name -> draw(run, path), each call as the package's own callers write it (positional where they are)
PICTURES = {
    "training_curves": lambda run, path: plot_training_curves(read_metrics(run.root), path),
    "monitors": lambda run, path: plot_monitors(MONITORS, path),
    "filters": lambda run, path: plot_filters(run.model, path),
    "filters_deeper_layer": lambda run, path: plot_filters(run.model, path, "features.conv2"),
    "feature_maps": lambda run, path: plot_feature_maps(run.model, _image(run), None, path),
    "top_patches": lambda run, path: plot_top_patches(
        top_activating_patches(run.model, run.loader(), "features.conv2", [0, 1], k=4), path,
        mean=run.mean, std=run.std, class_names=run.class_names),
    "saliency": lambda run, path: plot_saliency(run.model, _image(run), None, path, mean=run.mean, std=run.std),
    "deconvnet": lambda run, path: plot_deconvnet(
        top_projections(run.model, run.loader, "features.conv1", [0, 1], k=3), path, mean=run.mean, std=run.std),
    "guided_backprop": lambda run, path: plot_guided_backprop(run.model, _image(run), path, mean=run.mean, std=run.std),
    "occlusion": lambda run, path: plot_occlusion(occlusion_map(run.model, _image(run)), _image(run), path),
    "confusion": lambda run, path: plot_confusion(run.evaluate()["confusion"], run.class_names, path),
    "top_losses": lambda run, path: plot_top_losses(top_losses(run.model, run.loader(), k=4), path, run.mean,
                                                    run.std, run.class_names),
    "image_filters": lambda run, path: plot_image_filters(torch.rand(24, 24), path),
    "lr_finder": lambda run, path: plot_lr_finder(LR_SWEEP, path),
    "keypoints": lambda run, path: draw_keypoints(torch.rand(3, 1, 12, 12), torch.rand(3, 2, 2) * 12,
                                                  torch.rand(3, 2, 2) * 12, path),
    "overlays": lambda run, path: draw_overlays(torch.rand(3, 3, 12, 12), torch.randint(0, 3, (3, 12, 12)),
                                                torch.randint(0, 3, (3, 12, 12)), 3, path),
    "reconstructions": lambda run, path: draw_reconstructions(torch.rand(3, 1, 12, 12), torch.rand(3, 1, 12, 12),
                                                              path),
}


@pytest.fixture
def run(tiny_cnn_run):
    return open_run(tiny_cnn_run)


def _open_pyplot_figures() -> list[int]:
    import matplotlib.pyplot as plt

    return plt.get_fignums()


@pytest.mark.parametrize("name", PICTURES)
def test_picture_is_a_figure_without_a_path_and_a_png_with_one(name, run, tmp_path):
    from matplotlib.figure import Figure

    draw = PICTURES[name]
    open_before = _open_pyplot_figures()
    figure = draw(run, None)
    assert isinstance(figure, Figure)
    assert any(axis.images or axis.lines for axis in figure.axes), "no Axes holds an image or a line"
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert _open_pyplot_figures() == open_before  # nothing left open in pyplot (the notebook's own figures)
    decode_png(figure._repr_png_())  # what Jupyter shows inline, whatever the notebook's backend
    decode_png(figure._repr_png_())  # showing it leaves it open: it shows again

    path = tmp_path / f"{name}.png"
    assert draw(run, path) == path
    decode_png(path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # written atomically: no temporary left
    assert _open_pyplot_figures() == open_before


def test_path_is_a_keyword_with_a_default():
    image = torch.rand(24, 24)
    figure = plot_image_filters(image, sigma=1.0)
    assert figure.axes[1].get_title() == "mean 5x5"
    assert plot_image_filters(image, path=None).__class__ is figure.__class__


def test_a_returned_figure_survives_pickling(run):
    figure = plot_confusion(run.evaluate()["confusion"], run.class_names)
    copy = pickle.loads(pickle.dumps(figure))
    assert type(copy) is type(figure) and len(copy.axes) == len(figure.axes)
    decode_png(copy._repr_png_())


def test_the_picture_modules_do_not_import_matplotlib():
    code = ("import sys, striate, striate.visualize, striate.tasks.pictures, striate.diagnose.lr_finder; "
            "print('matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"
