"""No host sync per training step (issue 21): the loss, its running sum and the correct count stay on the
device and are read once every ``read_every`` steps, before a checkpoint and at the epoch's end.

On a CPU there is no sync to see, so the tests count the *reads* a sync would be: every ``item()``,
``float()``, ``int()``, ``bool()``, ``tolist()``, ``format()``, ``cpu()`` or ``numpy()`` of a tensor, seen
through torch's function overrides (``TorchFunctionMode``). On a CUDA GPU, torch's own sync detector
(``torch.cuda.set_sync_debug_mode("error")``) checks the same steps.
"""

import math

import pytest
import torch
from torch.overrides import TorchFunctionMode

from striate.data import DeviceLoader, ImageSet
from striate.errors import TrainingDivergedError
from striate.models import create_model
from striate.tasks import ClassificationTask
from striate.training import progress
from striate.training.loop import LoopState, StepOptions, train_epoch

READS = {"item", "__float__", "__int__", "__bool__", "tolist", "__format__", "__index__", "cpu", "numpy"}


class CountReads(TorchFunctionMode):
    """Counts the calls that bring a tensor's values to the host."""

    def __init__(self):
        super().__init__()
        self.reads = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", None) in READS:
            self.reads += 1
        return func(*args, **(kwargs or {}))


def _data(count=64, seed=0) -> ImageSet:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 1, 8, 8), generator=generator, dtype=torch.uint8)
    return ImageSet(images, torch.arange(count) % 4)


def _model_and_optimizer(lr=0.05):
    torch.manual_seed(0)
    model = create_model("mlp", num_classes=4, in_channels=1, input_size=8, hidden=[16])
    return model, torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def test_the_counter_sees_every_kind_of_read():
    loss = torch.tensor(2.5)
    with CountReads() as counter:
        float(loss), loss.item(), int(loss), bool(loss > 1), loss.tolist(), f"{loss:.2f}"
    assert counter.reads == 6


def test_an_epoch_reads_the_device_once_every_read_every_steps():
    model, optimizer = _model_and_optimizer()
    loader, reads_at_step = DeviceLoader(_data(), 4, [0.5], [0.3], shuffle=True), []
    with CountReads() as counter:
        train = train_epoch(model, optimizer, loader, ClassificationTask(4), options=StepOptions(read_every=5),
                            on_step=lambda figures: reads_at_step.append(counter.reads))
    steps = len(reads_at_step)
    assert steps == 16 and math.isfinite(train["loss"])
    new_reads = [after - before for before, after in zip([0] + reads_at_step, reads_at_step)]
    # one read (a single tolist of the stacked losses) at steps 5, 10, 15, none at the other steps
    assert new_reads == [1 if step % 5 == 0 else 0 for step in range(1, steps + 1)], new_reads
    assert counter.reads - reads_at_step[-1] <= 5  # the epoch's end: the last losses, the totals, the meter


def test_the_step_figures_are_the_losses_read_later():
    """on_step gets each step's loss as a tensor; read at the end, they are the numbers the epoch's mean is made of."""
    model, optimizer = _model_and_optimizer()
    seen, state = [], LoopState()
    train = train_epoch(model, optimizer, DeviceLoader(_data(), 4, [0.5], [0.3]), ClassificationTask(4),
                        options=StepOptions(read_every=1000), state=state, on_step=seen.append)
    assert all(isinstance(figures["loss"], torch.Tensor) and figures["loss"].dim() == 0 for figures in seen)
    losses = [float(figures["loss"]) for figures in seen]
    assert train["loss"] == pytest.approx(sum(losses) / len(losses), rel=1e-12)
    assert 0 <= float(seen[-1]["accuracy"]) <= 1 and state.unread == []


def _diverging_step(read_every: int) -> tuple[int, str]:
    model, optimizer = _model_and_optimizer(lr=1e30)
    loader = DeviceLoader(_data(), 4, [0.5], [0.3])
    state = LoopState()
    with pytest.raises(TrainingDivergedError) as caught:
        for _ in range(5):
            train_epoch(model, optimizer, loader, ClassificationTask(4), options=StepOptions(read_every=read_every),
                        state=state)
            state.next_epoch()
    message = str(caught.value)
    return int(message.split("at step ")[1].split(" ")[0]), message


def test_a_nan_found_at_a_read_names_the_step_where_it_began():
    every_step, _ = _diverging_step(read_every=1)
    step, message = _diverging_step(read_every=7)
    assert step == every_step and "learning rate too high" in message and len(message.splitlines()) == 1


def test_a_checkpoint_reads_the_losses_first():
    """A checkpoint taken between reads still refuses to follow a loss that is not finite."""
    state = LoopState()
    state.record(torch.tensor(0.5), 4)
    state.step = 1
    state.record(torch.tensor(float("nan")), 4)
    with pytest.raises(TrainingDivergedError, match="the loss became nan at step 2"):
        state.to_checkpoint()


@pytest.mark.slow
def test_a_whole_run_reads_nothing_in_the_steps(tmp_cfg_factory, monkeypatch):
    """Through the engine (logs, progress, meters): no read between two steps of an epoch."""
    from striate.session import train_run

    config = tmp_cfg_factory("reads", epochs=2)
    counter, reads_at_step = CountReads(), []
    monkeypatch.setattr(progress.SilentProgress, "on_step",
                        lambda self, figures: reads_at_step.append((figures["step"], counter.reads)), raising=False)
    with counter:
        result = train_run(config)
    steps_per_epoch = result["history"][0]["step"]
    within = [after - before for (_, before), (step, after) in zip(reads_at_step, reads_at_step[1:])
              if (step - 1) % steps_per_epoch != 0]  # the reads at an epoch's end show at the next epoch's first step
    assert steps_per_epoch > 10 and len(within) > 20 and set(within) == {0}, within
    lines = (result["run_dir"] / "steps.csv").read_text().splitlines()
    assert len(lines) == 1 + 2 * steps_per_epoch and all(math.isfinite(float(line.split(",")[3])) for line in lines[1:])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_no_sync_in_the_steps_on_a_gpu():
    model, optimizer = _model_and_optimizer()
    model.cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = DeviceLoader(_data(), 4, [0.5], [0.3], shuffle=True, device=torch.device("cuda"))

    def strict(batches):
        torch.cuda.set_sync_debug_mode("error")  # any sync in a step raises
        try:
            yield from batches
        finally:
            torch.cuda.set_sync_debug_mode(0)

    train = train_epoch(model, optimizer, strict(loader), ClassificationTask(4), options=StepOptions(read_every=1000))
    assert math.isfinite(train["loss"])
