"""Peer 2: the Keras 3 "simple MNIST convnet" example, with real Keras on its torch backend. Run by the
benchmark venv's Python (bench/setup_bench_venv.sh), never inside striate's environment.

Network: conv 3x3 32 ReLU - max pool 2 - conv 3x3 64 ReLU - max pool 2 - flatten - dropout 0.5 - dense 10
softmax; categorical cross-entropy; Adam; batch 128; 15 epochs; validation_split 0.1; images scaled to
[0, 1]. After each epoch a callback measures test accuracy (not timed).

    KERAS_BACKEND=torch $STRIATE_BENCH_VENV/bin/python bench/peers/keras_mnist_convnet.py DATA OUT.json [--quick]
"""

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mnist_data import load_mnist  # noqa: E402


class TimeToTarget(keras.callbacks.Callback):
    def __init__(self, test, target):
        super().__init__()
        self.test, self.target = test, target
        self.train_seconds, self.reached, self.log = 0.0, None, []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.train_seconds += time.perf_counter() - self.started
        _, accuracy = self.model.evaluate(*self.test, batch_size=1000, verbose=0)
        self.log.append({"epoch": epoch + 1, "train_seconds": self.train_seconds, "test_accuracy": float(accuracy)})
        print(f"  keras epoch {epoch + 1}: test accuracy {100 * accuracy:.2f}% after {self.train_seconds:.1f}s", flush=True)
        if accuracy >= self.target and self.reached is None:
            self.reached = self.train_seconds
            self.model.stop_training = True


def main() -> None:
    data_dir, out, quick = sys.argv[1], sys.argv[2], "--quick" in sys.argv
    data = load_mnist(data_dir, limit=2000 if quick else None)
    (x_train, y_train), (x_test, y_test) = data["train"], data["test"]
    x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
    x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
    y_train, y_test = keras.utils.to_categorical(y_train, 10), keras.utils.to_categorical(y_test, 10)
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    timer = TimeToTarget((x_test, y_test), 0.99)
    model.fit(x_train, y_train, batch_size=128, epochs=1 if quick else 15, validation_split=0.1, verbose=0, callbacks=[timer])
    result = {"name": "keras-simple-mnist-convnet", "keras": keras.__version__, "backend": keras.backend.backend(),
              "seconds_to_target": timer.reached, "epochs": timer.log}
    Path(out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
