"""greenlint's demo: a small classifier trained on CPU (or a GPU if there is one), with two
habits that waste energy on real projects:

- the training data is read from disk again on every step (GL301), instead of once;
- on a GPU, training runs in float32 where bf16 autocast would do (GL101, with `--preview`).

`greenlint demo` copies this file to a temporary directory, lints it, profiles a few steps,
and ranks the fixes by the energy they would save.
"""

import argparse
import os

import torch
from torch.utils.data import DataLoader, TensorDataset


def make_data(path: str, rows: int, features: int) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(rows, features, generator=generator)
    y = (x[:, : features // 4].sum(dim=1) > 0).long()
    torch.save({"x": x, "y": y}, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps-per-epoch", type=int, default=100)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    data_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_data.pt")
    if not os.path.exists(data_path):
        make_data(data_path, args.rows, 64)
    holdout = torch.load(data_path)
    val_loader = DataLoader(TensorDataset(holdout["x"][:2048], holdout["y"][:2048]), batch_size=256)

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    for epoch in range(args.epochs):
        model.train()
        for step in range(args.steps_per_epoch):
            data = torch.load(data_path)  # the waste: the whole dataset, read again every step
            start = (step * args.batch_size) % (args.rows - args.batch_size)
            x = data["x"][start : start + args.batch_size].to(device)
            y = data["y"][start : start + args.batch_size].to(device)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in val_loader:
                correct += (model(x.to(device)).argmax(dim=1) == y.to(device)).sum().item()
        print(f"epoch {epoch}: loss {loss.item():.3f}, validation accuracy {correct / 2048:.1%}")


if __name__ == "__main__":
    main()
