"""GL418: `zero_grad()` on every micro-batch under gradient accumulation, and the shapes that look
alike but waste nothing (a GAN's generator every n_critic steps, correct accumulation, factor 1)."""

from __future__ import annotations

import textwrap

from greenlint.engine import lint_source
from rule_helpers import ALL, findings, fires, silent

ACCUMULATION_BUG = """
import torch

ACCUM = {factor}
model = Net().cuda()
opt = torch.optim.AdamW(model.parameters())
for i, (x, y) in enumerate(loader):
    opt.zero_grad()
    model.zero_grad()
    loss = model(x.cuda(), y.cuda())
    loss.backward()
    if (i + 1) % ACCUM == 0:
        opt.step()
"""


def test_fires_once_per_loop_with_the_factor_in_the_message() -> None:
    found = findings(ACCUMULATION_BUG.format(factor=8), "GL418")
    assert len(found) == 1
    assert "7 of every 8" in found[0].message
    assert found[0].location.row == 7  # the first `opt.zero_grad()`, not also `model.zero_grad()`


def test_silent_when_the_factor_is_one() -> None:
    silent("GL418", ACCUMULATION_BUG.format(factor=1))


def test_fires_on_an_accumulation_name_without_modulo() -> None:
    fires(
        "GL418",
        """
        import torch
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for step, batch in enumerate(loader):
            opt.zero_grad()
            scaler.scale(model(batch)).backward()
            if step_is_boundary(step, args.grad_accum_steps):
                scaler.step(opt)
                scaler.update()
        """,
    )


def test_silent_on_correct_accumulation() -> None:
    silent(
        "GL418",
        """
        import torch
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for i, (x, y) in enumerate(loader):
            (model(x, y) / 4).backward()
            if (i + 1) % 4 == 0:
                opt.step()
                opt.zero_grad()
        """,
    )


def test_silent_on_gan_generator_trained_every_n_critic_steps() -> None:
    # PyTorch-GAN's wgan_gp: the generator's backward runs under the same `if` as its step, so no
    # gradient is computed and then cleared.
    silent(
        "GL418",
        """
        import torch
        optimizer_G = torch.optim.Adam(generator.parameters())
        optimizer_D = torch.optim.Adam(discriminator.parameters())
        for i, (imgs, _) in enumerate(dataloader):
            optimizer_D.zero_grad()
            d_loss = critic_loss(discriminator, generator, imgs.cuda())
            d_loss.backward()
            optimizer_D.step()
            optimizer_G.zero_grad()
            if i % opt.n_critic == 0:
                g_loss = -torch.mean(discriminator(generator(z)))
                g_loss.backward()
                optimizer_G.step()
        """,
    )


def test_silent_in_test_modules() -> None:
    text = textwrap.dedent(ACCUMULATION_BUG.format(factor=8)).lstrip("\n")
    assert not [f for f in lint_source(text.encode(), "tests/test_train.py", ALL) if f.code == "GL418"]
