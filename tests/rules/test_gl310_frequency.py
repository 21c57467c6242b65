"""GL310 reports a host-built tensor only where it is built on every training step (session 6).

Shapes written from the dev corpora, not copied: 0913ktg/5G-Traffic-Generator@9086981
5GT-GAN/model/GAN.py:98 (a LightningModule's noise sampler called by `training_step`: missed) and
rasbt/deeplearning-models@18e0469 pytorch_ipynb/autoencoder/*cvae*.ipynb (a sampling loop after
training, and per-step tensors in minutes-long MNIST runs: reported)."""

from __future__ import annotations

from rule_helpers import findings


def rows(source: str) -> list[int]:
    return sorted(f.location.row for f in findings(source, "GL310"))


def test_helper_method_called_by_training_step_runs_every_step():
    source = """
    import torch
    from pytorch_lightning import LightningModule

    class GAN(LightningModule):
        def training_step(self, batch, batch_idx):
            y, c = batch
            z = self.sample_noise(len(y))
            return self.loss(self.G(z, c), y)

        def sample_noise(self, n):
            return torch.randn(n, 300, 100).to(self.device)
    """
    assert rows(source) == [11]


def test_function_called_from_forward_two_levels_down_runs_every_step():
    source = """
    import torch

    def noise_like(x, device):
        return torch.randn(x.shape[0], 64).to(device)

    class VAE(torch.nn.Module):
        def encode(self, x):
            return self.enc(x) + noise_like(x, "cuda")

        def forward(self, x):
            return self.dec(self.encode(x))
    """
    assert rows(source) == [4]


def test_sampling_loop_after_training_is_not_reported():
    source = """
    import torch

    model = Net().cuda()
    opt = torch.optim.Adam(model.parameters())
    for x in loader:
        loss = model(x.cuda()).mean()
        loss.backward()
        opt.step()
    for i in range(10):
        z = torch.randn(10, 64).to("cuda")
        show(model.decode(z))
    """
    assert rows(source) == []


def test_tensor_built_once_per_epoch_is_not_reported():
    source = """
    import torch

    model = Net().cuda()
    opt = torch.optim.Adam(model.parameters())
    for epoch in range(100):
        fixed = torch.zeros(8, 64).to("cuda")
        for x in loader:
            loss = model(x.cuda()).mean()
            loss.backward()
            opt.step()
        show(model.decode(fixed))
    """
    assert rows(source) == []


def test_per_step_tensor_in_a_minutes_long_mnist_run_is_not_reported():
    source = """
    import torch
    from torchvision import datasets

    train = datasets.MNIST("data", train=True, download=True)
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).cuda()
    opt = torch.optim.Adam(model.parameters())
    for epoch in range(5):
        for x, y in loader:
            noise = torch.randn(x.shape[0], 784).to("cuda")
            loss = torch.nn.functional.cross_entropy(model(x.cuda() + noise), y.cuda())
            loss.backward()
            opt.step()
    """
    assert rows(source) == []
