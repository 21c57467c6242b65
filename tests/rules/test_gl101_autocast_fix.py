"""GL101's autofix on realistic training scripts: it uses the device type the script already uses
(never "cuda" in device-agnostic code), wraps every forward pass of a step with several (a GAN),
says which ones it could not wrap, and always leaves a file that compiles."""

from __future__ import annotations

import textwrap

from greenlint.engine import LintRequest, lint_source
from greenlint.fixer import fix_request

ONLY = frozenset({"GL101"})


def _source(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def fixed(source: str) -> str:
    text = _source(source)
    outcome = fix_request(LintRequest(None, "train.py", text.encode(), ONLY), unsafe=True)  # type: ignore[arg-type]
    assert outcome.fixed_text is not None, "GL101 proposed no fix"
    compile(outcome.fixed_text, "train.py", "exec")  # the fixed file must still be Python
    again = fix_request(LintRequest(None, "train.py", outcome.fixed_text.encode(), ONLY), unsafe=True)  # type: ignore[arg-type]
    assert again.fixed_text is None, "the fix is not idempotent"
    return outcome.fixed_text


def fix_messages(source: str) -> list[str]:
    found = lint_source(_source(source).encode(), "train.py", ONLY)
    return [f.fix.message for f in found if f.code == "GL101" and f.fix is not None]


# A device-agnostic script in the style of the PyTorch examples since torch 2.6: the device comes
# from torch.accelerator, falling back to the CPU.
ACCELERATOR_SCRIPT = """
import argparse

import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 32, 3, 1)
        self.fc = nn.Linear(21632, 10)

    def forward(self, x):
        x = F.relu(self.conv(x))
        return F.log_softmax(self.fc(torch.flatten(x, 1)), dim=1)


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print(f"epoch {epoch} loss {loss.item():.4f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--log-interval", type=int, default=10)
    args = parser.parse_args()
    if torch.accelerator.is_available():
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")
    model = Net().to(device)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)


if __name__ == "__main__":
    main()
"""


def test_device_agnostic_script_gets_the_devices_own_type():
    after = fixed(ACCELERATOR_SCRIPT)
    assert '"cuda"' not in after
    assert (
        "        optimizer.zero_grad()\n"
        "        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):\n"
        "            output = model(data)\n"
        "            loss = F.nll_loss(output, target)\n"
        "        loss.backward()\n"
    ) in after


def test_mps_or_cpu_string_device_is_passed_as_is():
    source = """
        import torch

        device = "mps" if torch.backends.mps.is_available() else "cpu"
        model = torch.nn.Linear(16, 2).to(device)
        if torch.cuda.is_available():
            model = model.cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
    """
    after = fixed(source)
    assert "with torch.autocast(device_type=device, dtype=torch.bfloat16):\n        loss = " in after


def test_a_device_argument_of_unknown_kind_goes_through_torch_device():
    source = """
        import torch

        def fit(model, loader, opt, args):
            for x, y in loader:
                x = x.to(args.device)
                y = y.to(args.device)
                out = model(x)
                loss = torch.nn.functional.mse_loss(out, y)
                loss.backward()
                opt.step()
                opt.zero_grad()

        model = torch.nn.Linear(4, 1).cuda()
    """
    after = fixed(source)
    assert "with torch.autocast(device_type=torch.device(args.device).type, dtype=torch.bfloat16):" in after


def test_agnostic_module_without_a_device_in_the_step_asks_torch_accelerator():
    source = """
        import torch

        model = torch.nn.Linear(8, 1).to(torch.accelerator.current_accelerator())
        opt = torch.optim.AdamW(model.parameters())
        for x, y in loader:
            pred = model(x)
            loss = (pred - y).pow(2).mean()
            loss.backward()
            opt.step()
    """
    after = fixed(source)
    assert (
        'with torch.autocast(device_type=(torch.accelerator.current_accelerator() or torch.device("cpu")).type, '
        "dtype=torch.bfloat16):"
    ) in after


def test_agnostic_module_whose_device_cannot_be_told_gets_no_fix():
    source = """
        import torch

        def build():
            dev = "xpu" if torch.xpu.is_available() else "cuda"
            return torch.nn.Linear(8, 1).to(dev)

        model = build()
        opt = torch.optim.AdamW(model.parameters())
        for x, y in loader:
            pred = model(x)
            loss = (pred - y).pow(2).mean()
            loss.backward()
            opt.step()
    """
    found = [f for f in lint_source(_source(source).encode(), "train.py", ONLY) if f.code == "GL101"]
    assert found and found[0].fix is None  # reported, but no guessed "cuda" written into it


def test_plainly_cuda_code_keeps_cuda():
    source = """
        import torch

        model = torch.nn.Linear(512, 10).cuda()
        opt = torch.optim.AdamW(model.parameters())
        for x, y in loader:
            x, y = x.cuda(), y.cuda()
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits, y)
            loss.backward()
            opt.step()
    """
    assert 'with torch.autocast(device_type="cuda", dtype=torch.bfloat16):\n        logits = model(x)' in fixed(source)


# The DCGAN training step: three backward() calls (discriminator on real, on fake, generator).
GAN_STEP = """
import torch
import torch.nn as nn

device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
netG = Generator().to(device)
netD = Discriminator().to(device)
criterion = nn.BCELoss()
optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))

for epoch in range(25):
    for i, data in enumerate(dataloader, 0):
        # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        real_cpu = data[0].to(device)
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), 1.0, dtype=torch.float, device=device)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = torch.randn(b_size, 100, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(0.0)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()
        # (2) update G: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(1.0)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()
"""


def test_gan_step_wraps_every_forward_pass():
    after = fixed(GAN_STEP)
    blocks = after.count("with torch.autocast(device_type=device.type, dtype=torch.bfloat16):")
    assert blocks == 3
    # each backward() stays outside its block, right after it
    for loss in ("errD_real", "errD_fake", "errG"):
        assert f"            {loss} = criterion(output, label)\n        {loss}.backward()\n" in after
    # the generator's forward pass is inside the discriminator's second block, not left in float32
    assert "            fake = netG(noise)\n" in after
    # the optimizer steps and the real batch's transfer are outside every block
    assert "\n        optimizerD.step()\n" in after and "\n        real_cpu = data[0].to(device)\n" in after
    assert fix_messages(GAN_STEP) == ["wrap each forward pass and loss in bf16 autocast (3 of the step's 3 backward() calls)"]


def test_a_forward_pass_that_cannot_be_wrapped_is_named_in_the_fix():
    source = """
        import torch

        model = torch.nn.Linear(512, 10).cuda()
        critic = torch.nn.Linear(10, 1).cuda()
        opt = torch.optim.AdamW(model.parameters())
        for x, y in loader:
            x, y = x.cuda(), y.cuda()
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits, y)
            loss.backward()
            critic(model(x).detach()).mean().backward()
            opt.step()
    """
    after = fixed(source)
    assert after.count("torch.autocast(") == 1
    [message] = fix_messages(source)
    assert "1 of the step's 2 backward() calls" in message and "stay in float32" in message


def test_a_module_level_device_that_the_step_never_names_is_used():
    # the legacy SNLI example: the iterator yields batches already on `device`
    source = """
        import torch

        if torch.cuda.is_available():
            device = torch.device("cuda:0")
        elif torch.backends.mps.is_available():
            device = torch.device("mps")
        else:
            device = torch.device("cpu")
        train_iter = BucketIterator(train, batch_size=128, device=device)
        model = SNLIClassifier(config).to(device)
        opt = torch.optim.Adam(model.parameters())
        for epoch in range(50):
            for batch in train_iter:
                opt.zero_grad()
                answer = model(batch)
                loss = criterion(answer, batch.label)
                loss.backward()
                opt.step()
    """
    assert "with torch.autocast(device_type=device.type, dtype=torch.bfloat16):\n            answer = model(batch)" in fixed(source)


def test_a_forward_pass_chosen_by_an_if_and_metric_lines_are_covered():
    # the word-language-model example picks the forward call by model type; the ImageNet one
    # updates four meters between the loss and backward()
    source = """
        import torch

        device = torch.device("cuda")
        model = build().to(device)
        for i, (data, targets) in enumerate(loader):
            data, targets = data.to(device), targets.to(device)
            if args.model == "Transformer":
                output = model(data)
                output = output.view(-1, ntokens)
            else:
                hidden = repackage_hidden(hidden)
                output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            acc1, acc5 = accuracy(output, targets, topk=(1, 5))
            losses.update(loss.item(), data.size(0))
            top1.update(acc1[0], data.size(0))
            top5.update(acc5[0], data.size(0))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    """
    after = fixed(source)
    assert (
        "    with torch.autocast(device_type=device.type, dtype=torch.bfloat16):\n"
        '        if args.model == "Transformer":\n'
        "            output = model(data)\n"
    ) in after
    assert "        optimizer.zero_grad()\n    loss.backward()\n" in after


def test_wgan_step_with_the_generator_under_an_if_gets_both_blocks():
    # the WGAN layout: the critic trains every step, the generator every n_critic steps
    source = """
        import torch

        cuda = True if torch.cuda.is_available() else False
        generator, discriminator = Generator(), Discriminator()
        if cuda:
            generator.cuda()
            discriminator.cuda()
        for epoch in range(200):
            for i, (imgs, _) in enumerate(dataloader):
                real_imgs = imgs.type(Tensor)
                optimizer_D.zero_grad()
                z = Tensor(np.random.normal(0, 1, (imgs.shape[0], 100)))
                fake_imgs = generator(z).detach()
                loss_D = -torch.mean(discriminator(real_imgs)) + torch.mean(discriminator(fake_imgs))
                loss_D.backward()
                optimizer_D.step()
                if i % 5 == 0:
                    optimizer_G.zero_grad()
                    gen_imgs = generator(z)
                    loss_G = -torch.mean(discriminator(gen_imgs))
                    loss_G.backward()
                    optimizer_G.step()
    """
    after = fixed(source)
    assert after.count('with torch.autocast(device_type="cuda", dtype=torch.bfloat16):') == 2
    assert "\n            with torch.autocast(" in after  # the generator's, inside the `if`
    assert fix_messages(source) == ["wrap each forward pass and loss in bf16 autocast (2 of the step's 2 backward() calls)"]


def test_a_warm_up_backward_under_an_if_wraps_the_forward_above_it():
    # the ESRGAN layout: during warm-up only the pixel loss is trained, inside an `if` that
    # `continue`s; the generator's forward pass sits above that `if`
    source = """
        import torch

        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        for epoch in range(200):
            for i, imgs in enumerate(dataloader):
                imgs_lr = imgs["lr"].to(device)
                imgs_hr = imgs["hr"].to(device)
                optimizer_G.zero_grad()
                gen_hr = generator(imgs_lr)
                loss_pixel = criterion_pixel(gen_hr, imgs_hr)
                if i < 500:
                    loss_pixel.backward()
                    optimizer_G.step()
                    continue
                pred_fake = discriminator(gen_hr)
                loss_GAN = criterion_GAN(pred_fake, valid)
                loss_G = loss_GAN + loss_pixel
                loss_G.backward()
                optimizer_G.step()
    """
    after = fixed(source)
    assert (
        "        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):\n"
        "            gen_hr = generator(imgs_lr)\n"
        "            loss_pixel = criterion_pixel(gen_hr, imgs_hr)\n"
        "        if i < 500:\n"
    ) in after
    assert "            pred_fake = discriminator(gen_hr)\n" in after
    assert fix_messages(source) == ["wrap each forward pass and loss in bf16 autocast (2 of the step's 2 backward() calls)"]


def test_to_another_tensor_or_a_dtype_is_not_taken_for_the_device():
    source = """
        import torch

        model = torch.nn.Linear(16, 2).cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in loader:
            x = x.cuda()
            y = y.to(template)
            mask = mask_cpu.to(precision)
            out = model(x)
            loss = torch.nn.functional.cross_entropy(out, y)
            loss.backward()
            opt.step()
    """
    after = fixed(source)
    assert 'with torch.autocast(device_type="cuda", dtype=torch.bfloat16):\n        out = model(x)' in after


def test_the_message_names_the_autocast_call_to_write():
    found = lint_source(_source(ACCELERATOR_SCRIPT).encode(), "train.py", ONLY)
    [message] = [f.message for f in found if f.code == "GL101"]
    assert "`torch.autocast(device_type=device.type, dtype=torch.bfloat16)`" in message
    assert '"cuda"' not in message
