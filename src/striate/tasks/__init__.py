"""Tasks beyond classification: keypoint regression, semantic segmentation, autoencoders.

A recipe's ``data.task`` picks the task; the task supplies the loss, the meter and the targets, and
the one training loop (striate.train.loop) does the rest. See docs/beyond-classification.md.
"""

from striate.tasks.task import TASK_NAMES, AutoencoderTask, KeypointTask, SegmentationTask, Task

__all__ = ["TASK_NAMES", "AutoencoderTask", "KeypointTask", "SegmentationTask", "Task"]
