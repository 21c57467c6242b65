# greenlint-expect: none
"""Both DataLoaders are rebuilt from the same datasets inside the epoch loop: not GL301's waste.
Building a DataLoader only wraps its dataset; its workers start at `iter(loader)` every epoch
whether it is built here or before the loop (unless `persistent_workers=True`), so hoisting the
constructor saves nothing (session 18, blind52's judge on Real-Time-Voice-Cloning's vocoder)."""
import argparse

import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


def build_model():
    return nn.Sequential(nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 5), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 6))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default="/data/wafer_maps")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args()
    device = torch.device("cuda")
    tf = transforms.Compose([transforms.Grayscale(), transforms.Resize((48, 48)), transforms.ToTensor()])
    train_set = datasets.ImageFolder(f"{args.root}/train", tf)
    val_set = datasets.ImageFolder(f"{args.root}/val", tf)
    model = build_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.cuda.amp.GradScaler()
    for epoch in range(args.epochs):
        train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=4)
        val_loader = DataLoader(val_set, batch_size=256, num_workers=4)
        model.train()
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            with torch.cuda.amp.autocast():
                loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        model.eval()
        with torch.no_grad():
            acc = sum((model(x.to(device)).argmax(1).cpu() == y).sum().item() for x, y in val_loader)
        print(f"epoch {epoch}: val acc {acc / len(val_set):.3f}")


if __name__ == "__main__":
    main()
