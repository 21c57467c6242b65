# greenlint-expect: none
"""A Lightning Trainer whose precision is a command-line option defaulting to 16 (the shape of
huyvnphan/PyTorch_CIFAR10's train.py, blind22): mixed precision unless the launch passes --precision 32."""
from argparse import ArgumentParser

import torch
import torch.nn as nn
import torchvision
from pytorch_lightning import LightningModule, Trainer


class Classifier(LightningModule):
    def __init__(self):
        super().__init__()
        self.model = torchvision.models.resnet50(num_classes=10)

    def forward(self, x):
        return self.model(x)

    def training_step(self, batch, batch_idx):
        images, labels = batch
        loss = nn.functional.cross_entropy(self(images), labels)
        self.log("loss/train", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)


if __name__ == "__main__":
    parser = ArgumentParser()
    parser.add_argument("--gpu_id", type=str, default="0")
    parser.add_argument("--max_epochs", type=int, default=100)
    parser.add_argument("--precision", type=int, default=16, choices=[16, 32])
    args = parser.parse_args()
    loader = torch.utils.data.DataLoader(torch.load("cifar10_train.pt"), batch_size=256, shuffle=True, num_workers=8)
    trainer = Trainer(
        gpus=-1,
        max_epochs=args.max_epochs,
        precision=args.precision,
    )
    trainer.fit(Classifier(), loader)
