"""Fine-tuning: a source network with a new head for the new classes, the bottom frozen, the body
optionally on a smaller learning rate than the head, everything optionally un-frozen later (the plan:
striate.training.plan.FineTunePlan). The fine-tune is an ordinary run of the session: checkpoints, exact
``striate train --resume``, logs, progress and the divergence message come with it.

Yosinski et al. 2014 ("How transferable are features in deep neural networks?") measure exactly
these choices: how many bottom layers to copy, and whether to freeze them or fine-tune them.

>>> plan = FineTunePlan(freeze_stages=2, body_lr_scale=0.1, unfreeze_at=5)     # doctest: +SKIP
>>> result = finetune_run("runs/lenet5-mnist", config, plan)                   # doctest: +SKIP
"""

from torch import nn

from striate.session import Start, prepare, resolve_device, seed_everything, train_run
from striate.session.prepare import model_arguments
from striate.training.freeze import trainable_parameters
from striate.training.plan import FineTunePlan
from striate.transfer.source import load_source_model

__all__ = ["FineTunePlan", "finetune_run", "new_head"]


def new_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Replace the classifier for ``num_classes`` classes (the body keeps its weights)."""
    device = next(model.parameters()).device
    model.reset_classifier(num_classes)
    model.head.to(device)
    return model


def finetune_run(source: str, config, plan: FineTunePlan, model_name: str | None = None,
                 recipe_name: str = "finetune", stream=None) -> dict:
    """Fine-tune ``source`` (a run or a weights file) on ``config``'s data and write a run directory
    that 'striate predict', 'striate evaluate' and 'striate train --resume' read like any other."""
    device = resolve_device(config.run.device)
    seed_everything(config.run.seed)
    prepared = prepare(config)
    shapes = {"in_channels": prepared.preprocess["channels"], "input_size": prepared.preprocess["input_size"]}
    model, meta = load_source_model(source, model_name or config.model.name, {**shapes, **config.model.args}, device)
    new_head(model, len(prepared.names))
    if meta is not None:
        config.model.name, config.model.args = meta["model"]["name"], dict(meta["model"]["args"])
        model_args = {**meta["model"]["args"], "num_classes": len(prepared.names)}
    else:
        config.model.name = model_name or config.model.name
        model_args = model_arguments(config, len(prepared.names), prepared.preprocess)
    frozen = plan.prepare(model)
    trainable = trainable_parameters(model)
    start = Start(model, model_args, plan, {"transfer": {"source": str(source), "plan": plan.as_dict()}}, prepared)
    result = train_run(config, recipe_name, stream, start=start)
    return {**result, "trainable_parameters": trainable, "frozen": frozen}
