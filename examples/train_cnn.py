"""Train a small CNN on the 8×8 handwritten digits that scikit-learn ships (offline).

    python examples/train_cnn.py [--device cpu|cuda] [--epochs 15] [--batch-size 32]
                                 [--seed 0] [--out runs/digits]

conv → relu → maxpool → conv → relu → avgpool → linear, trained with Adam. A progress bar
per epoch shows loss and accuracy; the last line printed is machine-readable:

    test_accuracy=0.981 wall_s=12.3

It writes into --out (default runs/digits, ignored by git) and prints each path:
curves.png (training loss per step and per epoch, test accuracy per epoch; needs matplotlib),
graph.svg (the graph of one loss, input images included, clustered by layer) and the trained
weights model.safetensors.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn, optim
from tinygrad_cnn.data import DataLoader, load_digits


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),      # (32, 4, 4)
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),     # (64, 2, 2)
        nn.Flatten(), nn.Linear(64 * 2 * 2, 10),
    )


def evaluate(model, loader):
    model.eval()
    correct = total = 0
    with tg.no_grad():
        for x, y in loader:
            correct += int((model(x).argmax(1) == y).numpy().sum())
            total += y.shape[0]
    model.train()
    return correct / total


def save_curves(losses, epoch_loss, test_acc, path):
    """Training loss per step (and its mean per epoch) beside test accuracy per epoch."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"{path}: skipped (pip install matplotlib)")
        return None
    steps_per_epoch = len(losses) / max(len(epoch_loss), 1)
    epochs = np.arange(1, len(epoch_loss) + 1)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax0.plot(np.arange(1, len(losses) + 1) / steps_per_epoch, losses, lw=0.6, alpha=0.6,
             label="per step")
    ax0.plot(epochs, epoch_loss, "o-", label="epoch mean")
    ax0.set_xlabel("epoch")
    ax0.set_ylabel("training loss")
    ax0.set_yscale("log")
    ax0.legend()
    ax1.plot(epochs, test_acc, "o-", color="C2")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("test accuracy")
    ax1.set_ylim(min(test_acc + [0.9]) - 0.02, 1.0)
    fig.suptitle("CNN on the 8×8 digits")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def save_graph(model, x, y, path):
    """The graph of one loss on two images; traced so the input images appear as a node."""
    from tinygrad_cnn import viz
    with viz.trace():
        loss = F.cross_entropy(model(x[:2]), y[:2])
    out = viz.render(loss, path, params=model)
    viz.clear_trace()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="Train a small CNN on the 8x8 digits.")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join("runs", "digits"))
    args = ap.parse_args(argv)
    from tqdm import tqdm

    start = time.perf_counter()
    tg.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    train = DataLoader(load_digits("train", device=args.device), batch_size=args.batch_size,
                       shuffle=True, seed=args.seed)
    test = DataLoader(load_digits("test", device=args.device), batch_size=256)
    model = make_model().to(args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    losses, epoch_loss, test_acc = [], [], []
    for epoch in range(1, args.epochs + 1):
        bar = tqdm(train, desc=f"epoch {epoch:2d}/{args.epochs}", leave=False, ncols=88,
                   mininterval=0.5)
        correct = seen = 0
        for x, y in bar:
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            correct += int((logits.argmax(1) == y).numpy().sum())
            seen += y.shape[0]
            bar.set_postfix(loss=f"{losses[-1]:.3f}", acc=f"{correct / seen:.3f}")
        sched.step()
        epoch_loss.append(float(np.mean(losses[-len(train):])))
        test_acc.append(evaluate(model, test))
        tqdm.write(f"epoch {epoch:2d}: loss {epoch_loss[-1]:.4f}  train acc "
                   f"{correct / seen:.3f}  test acc {test_acc[-1]:.3f}")
    acc = test_acc[-1]
    wall = time.perf_counter() - start  # training and evaluation, not the pictures
    weights = os.path.join(args.out, "model.safetensors")
    tg.save(model.state_dict(), weights)
    written = [weights,
               save_curves(losses, epoch_loss, test_acc, os.path.join(args.out, "curves.png")),
               save_graph(model, *next(iter(test)), os.path.join(args.out, "graph.svg"))]
    for path in written:
        if path:
            print("wrote", path)
    print(f"test_accuracy={acc:.3f} wall_s={wall:.1f}")
    return acc


if __name__ == "__main__":
    main()
