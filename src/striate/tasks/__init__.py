"""Tasks: classification, keypoint regression, semantic segmentation, autoencoders.

A recipe's ``data.task`` picks the task; the task supplies its data reading, targets, loss, meter and
figures, and the one training loop (striate.training.loop) and the one run session (striate.session) do the
rest. See docs/beyond-classification.md.
"""

from striate.tasks.classification import ClassificationTask
from striate.tasks.dense import AutoencoderTask, KeypointTask, SegmentationTask
from striate.tasks.kinds import TASK_NAMES, TASKS, task_kind
from striate.tasks.task import Task, TaskData

__all__ = ["TASKS", "TASK_NAMES", "AutoencoderTask", "ClassificationTask", "KeypointTask", "SegmentationTask", "Task",
           "TaskData", "task_kind"]
