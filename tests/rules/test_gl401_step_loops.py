"""GL401 on step loops the shared analysis does not call "the" training-step loop, and on `if`s that
gate the training step itself (session 6, blind3 misses). Shapes are written from the labelled
code, not copied: penguin1109/DACON_LightImageAI@6e27b44 DEEPRCAN0731.ipynb cell 23."""

from __future__ import annotations

import textwrap

from greenlint.engine import lint_source
from greenlint.rules import ALL_CODES

ALL = frozenset(ALL_CODES)


def rows(code: str, source: str) -> list[int]:
    text = textwrap.dedent(source).lstrip("\n")
    return sorted(f.location.row for f in lint_source(text.encode(), "train.py", ALL) if f.code == code)


# A super-resolution loop: one update on the whole (resized) image, then one per crop in an inner
# loop, each crop's update only when its loss is above a threshold.
WHOLE_THEN_CROPS = """
import torch

device = torch.device("cuda:0")
model = Net().to(device)
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
for epoch in range(50):
    history = []
    for batch, pieces in enumerate(loader):
        whole, target = pieces[0]["x"].to(device), pieces[0]["y"].to(device)
        out = model(whole)
        opt.zero_grad()
        loss = criterion(out, target)
        loss.backward()
        opt.step()
        history.append(loss.item())
        for k in range(1, len(pieces)):
            crop, crop_target = pieces[k]["x"].to(device), pieces[k]["y"].to(device)
            crop_loss = criterion(model(crop), crop_target)
            if crop_loss > 0.0005:
                opt.zero_grad()
                crop_loss.backward()
                opt.step()
                history.append(crop_loss.item())
"""


def test_outer_loop_with_its_own_step_is_scanned_too():
    # line 15: the whole-image update's sync (the outer loop steps in its own body)
    # line 23: the crop update's sync, under the `if` that gates that update
    assert rows("GL401", WHOLE_THEN_CROPS) == [15, 23]


def test_outer_loop_is_not_scanned_into_its_inner_step_loop_twice():
    text = textwrap.dedent(WHOLE_THEN_CROPS).lstrip("\n")
    messages = [f.message for f in lint_source(text.encode(), "train.py", ALL) if f.code == "GL401"]
    assert len(messages) == 2
    assert "for k in range(1, len(pieces))" in messages[1]
    assert "which is true on every step that trains" in messages[1]


def test_outer_epoch_loop_without_its_own_step_is_not_scanned():
    source = """
    import torch

    model = Net().cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(10):
        for x, y in loader:
            loss = criterion(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
        print(loss.item())
    """
    assert rows("GL401", source) == []


def test_modulo_gated_step_stays_a_rare_guard():
    # a GAN's generator update every n-th step: the sync inside runs on one step in n
    source = """
    import torch

    netD, netG = D().cuda(), G().cuda()
    optD = torch.optim.Adam(netD.parameters())
    optG = torch.optim.Adam(netG.parameters())
    for i, x in enumerate(loader):
        d_loss = netD(x.cuda()).mean()
        d_loss.backward()
        optD.step()
        if i % n_critic == 0:
            g_loss = -netD(netG(z)).mean()
            g_loss.backward()
            optG.step()
            g_hist.append(g_loss.item())
    """
    assert rows("GL401", source) == []


def test_rare_if_without_a_step_inside_stays_silent():
    source = """
    import torch

    model = Net().cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y in loader:
        loss = criterion(model(x.cuda()), y.cuda())
        loss.backward()
        opt.step()
        if verbose:
            seen.append(loss.item())
    """
    assert rows("GL401", source) == []


# A NaN check per parameter tensor on every optimizer step, behind settings fixed for the run
# (tmkhang1999/HyRES-Residual-Enhanced-Hybrid-Image-Compression@43ce504 src/utils/engine.py:56-65).
PER_PARAMETER = """
import torch

def train_one_epoch(model, loader, optimizer, clip, amp, accum):
    scaler = torch.cuda.amp.GradScaler()
    for i, x in enumerate(loader):
        loss = model(x.cuda())
        scaler.scale(loss).backward()
        if (i + 1) % accum == 0:
            if clip > 0:
                if amp:
                    scaler.unscale_(optimizer)
                    bad = False
                    for p in model.parameters():
                        if p.grad is not None and CHECK:
                            bad = True
                            break
            scaler.step(optimizer)
            scaler.update()
"""


def test_per_parameter_nan_check_is_one_sync_per_tensor():
    source = PER_PARAMETER.replace("CHECK", "torch.isnan(p.grad).any()")
    assert rows("GL401", source) == [14]
    text = textwrap.dedent(source).lstrip("\n")
    [message] = [f.message for f in lint_source(text.encode(), "train.py", ALL) if f.code == "GL401"]
    assert "once per parameter tensor" in message
    assert "`clip > 0 and amp` holds" in message


def test_per_parameter_item_is_reported_once():
    source = PER_PARAMETER.replace("CHECK", "p.grad.abs().max().item() > 1e3")
    assert rows("GL401", source) == [14]


def test_per_parameter_check_under_a_logging_guard_stays_silent():
    source = PER_PARAMETER.replace("if clip > 0:", "if i % 100 == 0:").replace("CHECK", "torch.isnan(p.grad).any()")
    assert rows("GL401", source) == []


def test_parameter_loop_without_a_sync_stays_silent():
    # WGAN weight clipping: no value comes back to the host
    source = PER_PARAMETER.replace("if p.grad is not None and CHECK:", "if p.grad is not None:")
    assert rows("GL401", source) == []



def test_gpu_evidence_from_the_projects_config_class(tmp_path, monkeypatch):
    """A trainer module that never names a device, while the project's `Config` class (which it uses)
    sets `self.device = "cuda:0"` (paolorechia/common-lit-kaggle@795b53e
    common_lit_kaggle/modeling/training.py:104 and settings/config.py:259, blind3)."""
    from greenlint.config import Settings
    from greenlint.runner import lint_files
    from greenlint.selection import RuleSelection

    config = """
        class Config:
            _config = None

            @classmethod
            def get(cls):
                if cls._config is None:
                    cls._config = cls()
                return cls._config

            def __init__(self):
                self.accumulation = 1
                self.device = DEVICE
    """
    training = """
        import torch
        from pkg.config import Config

        def train_epoch(loader, model, optimizer, criterion):
            config = Config.get()
            total = 0
            for x, y in loader:
                loss = criterion(model(x), y) / config.accumulation
                loss.backward()
                optimizer.step()
                total += loss.item()
            return total
    """
    found = {}
    for device in ('"cuda:0"', '"cpu"'):
        root = tmp_path / device.strip('"').replace(":", "")
        (root / "pkg").mkdir(parents=True)
        (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
        (root / "pkg" / "__init__.py").write_text("")
        (root / "pkg" / "config.py").write_text(textwrap.dedent(config.replace("DEVICE", device)).lstrip())
        (root / "pkg" / "training.py").write_text(textwrap.dedent(training).lstrip())
        monkeypatch.chdir(root)
        settings = Settings(project_root=root, selection=RuleSelection(select=("GL401",), preview=True))
        result = lint_files([root / "pkg" / "training.py"], settings, use_cache=False, jobs=1)
        found[device] = [(f.code, f.location.row) for f in result.findings]
    assert found['"cuda:0"'] == [("GL401", 11)]
    assert found['"cpu"'] == []


def test_warm_up_phase_that_steps_inside_its_if_stays_rare():
    # a generator warmed up on the pixel loss for the first batches only (the shape of
    # eriklindernoren/PyTorch-GAN@36d3c77 implementations/esrgan/esrgan.py:120-128, blind)
    source = """
    import torch

    generator = G().cuda()
    opt = torch.optim.Adam(generator.parameters())
    for i, (lr, hr) in enumerate(loader):
        opt.zero_grad()
        loss_pixel = criterion(generator(lr.cuda()), hr.cuda())
        if done + i < warmup_batches:
            loss_pixel.backward()
            opt.step()
            history.append(loss_pixel.item())
            continue
        loss = adversarial(generator(lr.cuda()))
        loss.backward()
        opt.step()
    """
    assert rows("GL401", source) == []
