"""The dense and regression tasks: keypoints (N x 2K coordinates, masked MSE, RMSE in pixels),
semantic segmentation (class masks, per-pixel softmax, pixel accuracy and mean IoU) and autoencoders
(the images themselves, reconstruction MSE and PSNR). They train in one process on the device loader,
at the images' own size (autoencoders at data.input_size).

>>> task = SegmentationTask(num_classes=3)
>>> task.metric, task.watch("val_miou").higher_is_better
('miou', True)
"""

import torch

from striate.errors import DataError
from striate.data.sources import load_source, make_splits
from striate.tasks.classification import source_options
from striate.tasks.data import TargetSet, point_names, random_splits, read_keypoints, read_mask_folder, swap_map
from striate.tasks.losses import masked_mse, pixel_cross_entropy, reconstruction_mse
from striate.tasks.metrics import KeypointMeter, ReconstructionMeter, SegmentationMeter, median_frequency_weights
from striate.tasks.pictures import draw_keypoints, draw_overlays, draw_reconstructions, first_predictions
from striate.tasks.predict import output_folder, read_inputs, reconstruction_file, segmentation_files
from striate.tasks.task import Task, TaskData


class DenseTask(Task):
    """What the three share: one process, the device loader, no folds, channel or no normalisation."""

    distributed, folds, streaming = False, False, False
    normalizations = ("channel", "none")


class KeypointTask(DenseTask):
    """Targets: N x 2K coordinates (x1, y1, x2, y2, ...) scaled to -1..1, NaN where missing; ``swap``
    is the keypoint permutation a left-right flip applies (left eye <-> right eye)."""

    name, metric, model_kind, resizes, uses_source = "keypoints", "rmse", "classification", False, False
    figures = ("rmse", "point_error")
    curve_figure, loss_label = ("rmse", "RMSE (px per coordinate)", 1.0), "masked MSE (scaled coordinates)"
    picture_caption = "True points (green circles) and predicted points (red crosses)."

    def __init__(self, image_size: int, swap: list[int] | None = None):
        self.half = (image_size - 1) / 2
        self.swap = swap

    def loss(self, outputs, targets, reduction="mean"):
        return masked_mse(outputs, targets, reduction)

    def meter(self):
        return KeypointMeter(self.half)

    def batch(self, images, targets, augmenter=None, generator=None):
        if augmenter is None:
            return images, targets
        points = (targets.view(len(targets), -1, 2) + 1) * self.half  # scaled -> pixel coordinates
        draws = augmenter.draw(images.shape, generator, images.device)
        images, _, points = augmenter.apply(images, draws, keypoints=points, swap=self.swap)
        return images, (points / self.half - 1).view(len(targets), -1)

    @classmethod
    def read(cls, data, optim) -> TaskData:
        every = read_keypoints(data.path)
        task = cls(every.images.shape[-1], swap_map(every.names))
        splits = random_splits(every, data.val_fraction, data.test_fraction, data.split_seed)
        return TaskData(task, splits, every.names, None, list(every.images.shape[1:]))

    @classmethod
    def from_meta(cls, config, meta: dict) -> "KeypointTask":
        return cls(meta["preprocess"]["input_size"], meta.get("swap"))

    def run_meta(self) -> dict:
        return {"task": self.name, "swap": self.swap}

    def check_images(self, shape: tuple, preprocess: dict) -> None:
        super().check_images(shape, preprocess)
        size = preprocess["input_size"]
        if tuple(shape[1:]) != (size, size):
            raise DataError(f"the keypoint images are {shape[1]}x{shape[2]} but the run was trained on {size}x{size}; "
                            "keypoints are predicted at the training size")

    def headline(self, figures: dict) -> list[tuple[str, str]]:
        return [("test RMSE", f"{figures['rmse']:.3f} px")]

    def describe(self, figures: dict) -> str:
        return f"rmse {figures['rmse']:.3f} px per coordinate ({figures['point_error']:.3f} px per point)"

    def tables(self, figures: dict, names: list[str]) -> list:
        rows = [[name, "-" if error != error else f"{error:.3f}"]
                for name, error in zip(point_names(names), figures["per_point_error"])]
        return [("root-mean-square distance per keypoint, over the points present", ["keypoint", "error (px)"], rows)]

    @torch.no_grad()
    def predict_files(self, model, paths: list[str], meta: dict, out_dir=None) -> list[dict]:
        """Keypoints in pixels of the network's input, by name, for each image file."""
        _, inputs = read_inputs(paths, meta["preprocess"])
        points = ((model(inputs).view(len(inputs), -1, 2) + 1) * self.half).tolist()
        names = point_names(meta["names"])
        return [{"image": str(path), "points": {name: [round(x, 2), round(y, 2)] for name, (x, y) in zip(names, row)}}
                for path, row in zip(paths, points)]

    def picture(self, model, loader, path):
        images, outputs, targets = first_predictions(model, loader)
        to_pixels = lambda values: (values.view(len(values), -1, 2) + 1) * self.half  # noqa: E731
        return draw_keypoints(images, to_pixels(outputs), to_pixels(targets), path)


class SegmentationTask(DenseTask):
    """Targets: N x 1 x H x W uint8 class masks (``ignore_index`` for pixels without a label);
    ``weights``: optional per-class loss weights (median frequency balancing)."""

    name, metric, model_kind, resizes, class_balance = "segmentation", "miou", "segmentation", False, True
    uses_source = False
    figures = ("miou", "pixel_accuracy")
    curve_figure, loss_label = ("miou", "mean IoU", 1.0), "per-pixel cross-entropy"
    picture_caption = "Rows: the image, the true mask, the predicted mask (background left clear)."
    higher = frozenset({"miou", "pixel_accuracy"})

    def __init__(self, num_classes: int, ignore_index: int = 255, weights: torch.Tensor | None = None):
        self.num_classes, self.ignore_index, self.weights = num_classes, ignore_index, weights

    def loss(self, outputs, targets, reduction="mean"):
        return pixel_cross_entropy(outputs, targets, self.ignore_index, reduction, self.weights)

    def meter(self):
        return SegmentationMeter(self.num_classes, self.ignore_index)

    def batch(self, images, targets, augmenter=None, generator=None):
        if augmenter is not None:
            draws = augmenter.draw(images.shape, generator, images.device)
            images, targets, _ = augmenter.apply(images, draws, masks=targets)
        return images, targets[:, 0].long()  # N x 1 x H x W -> N x H x W class indices

    @classmethod
    def read(cls, data, optim) -> TaskData:
        every = read_mask_folder(data.path)
        splits = random_splits(every, data.val_fraction, data.test_fraction, data.split_seed)
        weights = None
        if optim.class_balance == "median_frequency":  # from the training masks only
            weights = median_frequency_weights(splits["train"].targets, len(every.names), data.ignore_index)
        return TaskData(cls(len(every.names), data.ignore_index, weights), splits, every.names, None,
                        list(every.images.shape[1:]))

    @classmethod
    def from_meta(cls, config, meta: dict) -> "SegmentationTask":
        weights = meta.get("class_weights")
        return cls(len(meta["class_names"]), config.data.ignore_index,
                   None if weights is None else torch.tensor(weights, dtype=torch.float32))

    def run_meta(self) -> dict:
        return {"task": self.name, "class_weights": None if self.weights is None else self.weights.tolist()}

    def headline(self, figures: dict) -> list[tuple[str, str]]:
        return [("test mean IoU", f"{figures['miou']:.4f}"), ("test pixel accuracy", f"{100 * figures['pixel_accuracy']:.2f}%")]

    def describe(self, figures: dict) -> str:
        return f"pixel accuracy {100 * figures['pixel_accuracy']:.2f}%, mean IoU {figures['miou']:.4f}"

    def tables(self, figures: dict, names: list[str]) -> list:
        rows = [[name, "-" if iou != iou else f"{iou:.4f}"] for name, iou in zip(names, figures["per_class_iou"])]
        return [("", ["class", "IoU"], rows)]

    @torch.no_grad()
    def predict_files(self, model, paths: list[str], meta: dict, out_dir=None) -> list[dict]:
        """A class mask PNG, an overlay PNG and the share of each class, for each image file (any size)."""
        images, inputs = read_inputs(paths, meta["preprocess"], any_size=True)
        out = output_folder(out_dir, self.name)
        return [segmentation_files(path, image, scores, meta, out) for path, image, scores in zip(paths, images, model(inputs))]

    def picture(self, model, loader, path):
        images, outputs, targets = first_predictions(model, loader)
        return draw_overlays(images, outputs.argmax(dim=1), targets, self.num_classes, path)


class AutoencoderTask(DenseTask):
    """Targets: the (augmented) input images themselves, in 0..1."""

    name, metric, model_kind = "autoencoder", "mse", "autoencoder"
    figures = ("mse", "psnr")
    curve_figure, loss_label = ("psnr", "PSNR (dB)", 1.0), "reconstruction MSE"
    picture_caption = "Originals above, their reconstructions below."
    higher = frozenset({"psnr"})

    def loss(self, outputs, targets, reduction="mean"):
        return reconstruction_mse(outputs, targets, reduction)

    def meter(self):
        return ReconstructionMeter()

    def batch(self, images, targets, augmenter=None, generator=None):
        images, _ = super().batch(images, targets, augmenter, generator)
        return images, images

    @classmethod
    def read(cls, data, optim) -> TaskData:
        raw = load_source(data.source, data.path, **source_options(data))
        splits = make_splits(raw, data.val_fraction, data.test_fraction, data.split_seed)
        splits = {name: TargetSet(part.images, part.labels, part.class_names) for name, part in splits.items()}
        return TaskData(cls(), splits, list(raw["train"].class_names), None, list(raw["train"].image_shape))

    @classmethod
    def from_meta(cls, config, meta: dict) -> "AutoencoderTask":
        return cls()

    def outputs(self, names: list[str]) -> int:
        return 0

    def headline(self, figures: dict) -> list[tuple[str, str]]:
        return [("test reconstruction MSE", f"{figures['mse']:.5f}"), ("PSNR", f"{figures['psnr']:.2f} dB")]

    def describe(self, figures: dict) -> str:
        return f"reconstruction mse {figures['mse']:.5f} (PSNR {figures['psnr']:.2f} dB)"

    @torch.no_grad()
    def predict_files(self, model, paths: list[str], meta: dict, out_dir=None) -> list[dict]:
        """A reconstruction PNG and its error, for each image file."""
        images, inputs = read_inputs(paths, meta["preprocess"])
        out = output_folder(out_dir, self.name)
        return [reconstruction_file(path, image, output, out) for path, image, output in zip(paths, images, model(inputs))]

    def picture(self, model, loader, path):
        images, outputs, _ = first_predictions(model, loader)
        return draw_reconstructions(images, outputs, path)
