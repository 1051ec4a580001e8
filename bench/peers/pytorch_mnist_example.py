"""Peer 1: the official PyTorch MNIST example, rebuilt from its published description (torchvision is not
available here, so its ToTensor + Normalize per-sample pipeline is rebuilt as a Dataset; no code copied).

Network: conv 3x3 32 - ReLU - conv 3x3 64 - ReLU - max pool 2 - dropout 0.25 - fc 9216->128 - ReLU -
dropout 0.5 - fc 128->10 - log-softmax; NLL loss; Adadelta (lr 1.0), learning rate x0.7 after every epoch;
batch 64 through a DataLoader that draws and transforms one sample at a time; 14 epochs; test batch 1000.
"""

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

MEAN, STD = 0.1307, 0.3081  # the example's normalisation constants


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = self.dropout1(F.max_pool2d(x, 2))
        x = torch.flatten(x, 1)  # 64 x 12 x 12 -> 9216
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


class PerSampleMNIST(Dataset):
    """One image at a time: uint8 28x28 -> float in [0, 1] -> (x - mean) / std, as ToTensor + Normalize."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image = torch.from_numpy(self.images[index].astype(np.float32) / 255.0).unsqueeze(0)
        return (image - MEAN) / STD, int(self.labels[index])


def test_accuracy(model, loader) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += int((model(images).argmax(1) == labels).sum())
    return correct / len(loader.dataset)


def run(data: dict, epochs: int = 14, target: float = 0.99, max_batches: int | None = None, seed: int = 1) -> dict:
    """Train as the example does; after each epoch (not timed) measure test accuracy."""
    torch.manual_seed(seed)
    train = DataLoader(PerSampleMNIST(*data["train"]), batch_size=64, shuffle=True)
    test = DataLoader(PerSampleMNIST(*data["test"]), batch_size=1000)
    model = Net()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    epochs_log, train_seconds, reached = [], 0.0, None
    for epoch in range(1, epochs + 1):
        model.train()
        started = time.perf_counter()
        for index, (images, labels) in enumerate(train):
            if max_batches and index >= max_batches:
                break
            optimizer.zero_grad()
            loss = F.nll_loss(model(images), labels)
            loss.backward()
            optimizer.step()
        scheduler.step()
        train_seconds += time.perf_counter() - started
        accuracy = test_accuracy(model, test)
        epochs_log.append({"epoch": epoch, "train_seconds": train_seconds, "test_accuracy": accuracy})
        print(f"  pytorch-example epoch {epoch}: test accuracy {100 * accuracy:.2f}% after {train_seconds:.1f}s", flush=True)
        if accuracy >= target and reached is None:
            reached = train_seconds
            break
    return {"name": "pytorch-mnist-example", "seconds_to_target": reached, "epochs": epochs_log}
