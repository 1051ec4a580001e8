"""The tasks by name: the one place where ``data.task`` (a string in a recipe, a flag or model.json)
becomes a task class.

>>> task_kind("segmentation").metric
'miou'
"""

from striate.errors import ConfigError, did_you_mean
from striate.tasks.classification import ClassificationTask
from striate.tasks.dense import AutoencoderTask, KeypointTask, SegmentationTask
from striate.tasks.task import Task

TASKS: dict[str, type[Task]] = {kind.name: kind for kind in
                                 (ClassificationTask, KeypointTask, SegmentationTask, AutoencoderTask)}
TASK_NAMES = tuple(TASKS)


def task_kind(name: str) -> type[Task]:
    """The task class called ``name``; ConfigError naming the valid ones otherwise."""
    if name not in TASKS:
        raise ConfigError(f"unknown data.task '{name}'{did_you_mean(name, TASK_NAMES)}; expected one of {list(TASK_NAMES)}")
    return TASKS[name]
