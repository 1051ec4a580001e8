"""An in-memory image data set: uint8 images, integer labels, class names."""

from dataclasses import dataclass, field

import torch

from striate.errors import DataError


@dataclass
class ImageSet:
    """Images as uint8 ``N x C x H x W``, labels as int64 ``N``, and the class names.

    >>> data = ImageSet(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.tensor([0, 1, 0, 1]), ["a", "b"])
    >>> len(data), data.image_shape
    (4, (1, 28, 28))
    """

    images: torch.Tensor
    labels: torch.Tensor
    class_names: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unreadable files left out when the data was read

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise DataError(
                f"images must be uint8 N x C x H x W, got {self.images.dtype} with shape {tuple(self.images.shape)}"
            )
        if len(self.labels) != len(self.images):
            raise DataError(
                f"{len(self.images)} images but {len(self.labels)} labels; "
                "each image needs exactly one label (check that the image and label files belong together)"
            )
        self.labels = self.labels.long()
        if not self.class_names:
            count = int(self.labels.max()) + 1 if len(self.labels) else 0
            self.class_names = [str(index) for index in range(count)]
        if len(self.labels) and (int(self.labels.min()) < 0 or int(self.labels.max()) >= len(self.class_names)):
            raise DataError(
                f"labels must lie in 0..{len(self.class_names) - 1} for {len(self.class_names)} classes, "
                f"found {int(self.labels.min())}..{int(self.labels.max())}"
            )

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(self, indices: torch.Tensor) -> "ImageSet":
        return ImageSet(self.images[indices], self.labels[indices], list(self.class_names))

    def to(self, device) -> "ImageSet":
        return ImageSet(self.images.to(device), self.labels.to(device), list(self.class_names))
