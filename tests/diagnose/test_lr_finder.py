"""The LR finder: a sensible suggestion, no side effects, a plot, and a clear refusal under several processes."""

import pytest
import torch

from striate.diagnose.lr_finder import ensure_single_process, find_lr, plot_lr_finder
from striate.errors import ConfigError


def _digits_loader(batch_size=32):
    from striate.data import DeviceLoader, channel_stats, load_source

    train = load_source("digits")["train"]
    mean, std = channel_stats(train.images)
    return DeviceLoader(train, batch_size, mean, std, shuffle=True, seed=0)


def _model():
    from striate.models import create_model

    torch.manual_seed(0)
    return create_model("mlp", num_classes=10, in_channels=1, input_size=8, hidden=[32])


def _warm_up(model, optimizer, loader, steps=5):
    """A few real steps, so that the optimizer has state (momentum, Adam moments) to protect."""
    for (images, labels), _ in zip(loader, range(steps)):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()


@pytest.mark.parametrize("make_optimizer", [
    lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=5e-4),
    lambda params: torch.optim.Adam(params, lr=1e-3),
], ids=["sgd-momentum", "adam"])
def test_weights_optimizer_gradients_and_rng_are_restored(make_optimizer):
    model, loader = _model(), _digits_loader()
    optimizer = make_optimizer(model.parameters())
    _warm_up(model, optimizer, loader)
    model.eval()
    weights = {name: value.clone() for name, value in model.state_dict().items()}
    state = {index: {key: value.clone() if torch.is_tensor(value) else value for key, value in entry.items()}
             for index, entry in optimizer.state_dict()["state"].items()}
    groups = [dict(group) for group in optimizer.state_dict()["param_groups"]]
    grads = [p.grad.clone() for p in model.parameters()]
    rng = torch.get_rng_state()

    result = find_lr(model, optimizer, loader, num_steps=60)

    assert len(result.losses) > 10  # it really trained
    assert all(torch.equal(weights[name], value) for name, value in model.state_dict().items())
    after = optimizer.state_dict()
    assert after["param_groups"] == groups
    assert after["state"].keys() == state.keys()
    for index, entry in state.items():
        for key, value in entry.items():
            assert torch.equal(after["state"][index][key], value) if torch.is_tensor(value) else after["state"][index][key] == value
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads))
    assert torch.equal(torch.get_rng_state(), rng)
    assert not model.training


def test_suggestion_is_a_rate_that_trains_the_network():
    model, loader = _model(), _digits_loader()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    result = find_lr(model, optimizer, loader, start_lr=1e-5, end_lr=10, num_steps=150)
    assert 1e-3 < result.suggested_lr < 1.0
    assert result.suggested_lr == pytest.approx(result.min_loss_lr / 10)
    assert result.lrs[0] == pytest.approx(1e-5) and result.lrs == sorted(result.lrs)
    # training with the suggestion from the untouched model lowers the loss clearly
    for group in optimizer.param_groups:
        group["lr"] = result.suggested_lr
    images, labels = next(iter(loader))
    with torch.no_grad():
        before = float(torch.nn.functional.cross_entropy(model(images), labels))
    _warm_up(model, optimizer, loader, steps=40)
    with torch.no_grad():
        assert float(torch.nn.functional.cross_entropy(model(images), labels)) < 0.5 * before


def test_the_sweep_stops_once_the_loss_blows_up():
    model, loader = _model(), _digits_loader()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    result = find_lr(model, optimizer, loader, start_lr=1e-3, end_lr=1e6, num_steps=200)
    assert result.stopped_early and len(result.losses) < 200


def test_plot_is_a_png(tmp_path):
    model, loader = _model(), _digits_loader()
    result = find_lr(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, num_steps=30)
    path = tmp_path / "plots" / "lr.png"
    plot_lr_finder(result, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_range_is_refused():
    model = _model()
    with pytest.raises(ConfigError, match="start_lr < end_lr"):
        find_lr(model, torch.optim.SGD(model.parameters(), lr=0.1), _digits_loader(), start_lr=1.0, end_lr=0.1)


def test_refuses_under_several_processes_unless_rank_zero_only():
    ensure_single_process(1, 0, rank_zero_only=False, distributed_model=False)  # one process: fine
    ensure_single_process(4, 0, rank_zero_only=True, distributed_model=False)  # rank 0 alone: fine
    with pytest.raises(ConfigError, match="4 processes"):
        ensure_single_process(4, 0, rank_zero_only=False, distributed_model=False)
    with pytest.raises(ConfigError, match="rank 2"):
        ensure_single_process(4, 2, rank_zero_only=True, distributed_model=False)
    with pytest.raises(ConfigError, match="DistributedDataParallel"):
        ensure_single_process(4, 0, rank_zero_only=True, distributed_model=True)


def _two_process_worker(rank, port, results):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        model = _model()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        try:
            find_lr(model, optimizer, [(torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.long))], num_steps=5)
            results[rank] = "ran"
        except ConfigError as error:
            results[rank] = str(error)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_refuses_inside_a_real_two_process_group():
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(_two_process_worker, args=(port, results), nprocs=2, join=True)
    assert all("2 processes" in results[rank] for rank in (0, 1))
