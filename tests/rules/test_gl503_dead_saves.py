"""GL503 sees saves that never run with the script's defaults (issue 14): a checkpoint interval whose
argparse default disables the save, an output directory that defaults to '', a save every 10th
epoch in a run whose configured length is 3, and saves behind a loader's name. Each project is a
few files in tmp_path; nothing is imported or run."""

from __future__ import annotations

import textwrap

import pytest
from rule_helpers import silent

STEP = """\
for x, y in loader:
    loss = model(x).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""


def _with_step(text: str) -> str:
    """`text` (dedented) with each `STEP` line replaced by a training-step loop one level deeper."""
    lines = []
    for line in textwrap.dedent(text).lstrip("\n").splitlines(keepends=True):
        if line.strip() == "STEP":
            indent = line[: len(line) - len(line.lstrip())]
            lines.extend(indent + step_line for step_line in STEP.splitlines(keepends=True))
        else:
            lines.append(line)
    return "".join(lines)


def _gl503(project, *files: tuple[str, str]) -> list[str]:
    for name, text in files:
        project.write(name, _with_step(text))
    return [f["message"] for f in project.findings("--no-cache", "--isolated", "--preview", ".") if f["code"] == "GL503"]


def test_interval_default_disables_every_save(project):
    [message] = _gl503(project, ("gan.py", """
        import argparse
        import torch

        parser = argparse.ArgumentParser()
        parser.add_argument("--epoch", type=int, default=0)
        parser.add_argument("--n_epochs", type=int, default=200)
        parser.add_argument("--checkpoint_interval", type=int, default=-1)
        opt = parser.parse_args()

        for epoch in range(opt.epoch, opt.n_epochs):
            STEP
            if opt.checkpoint_interval != -1 and epoch % opt.checkpoint_interval == 0:
                torch.save(model.state_dict(), "g_%d.pth" % epoch)
                save_image(samples, "sample.png")
    """))
    assert "200 epochs" in message and "never true" in message
    assert "`--checkpoint_interval` defaults to -1 (gan.py:7)" in message
    assert message.index("--n_epochs") < message.index("--epoch`")  # the stop argument is named first


def test_output_dir_defaults_to_empty(project):
    [message] = _gl503(project, ("main.py", """
        import argparse
        import torch

        parser = argparse.ArgumentParser()
        parser.add_argument("--epochs", default=300, type=int)
        parser.add_argument("--output_dir", default="")
        args = parser.parse_args()

        for epoch in range(args.epochs):
            STEP
            if args.output_dir:
                torch.save({"model": model.state_dict()}, args.output_dir + "/checkpoint.pth")
    """))
    assert "300 epochs" in message and "`args.output_dir` is never true" in message


def test_every_tenth_epoch_in_a_three_epoch_run_from_a_constants_module(project):
    [message] = _gl503(
        project,
        ("constants.py", "NUM_EPOCHS = 3\n"),
        ("training.py", """
            import torch
            from constants import NUM_EPOCHS

            def save_checkpoint(model, name):
                checkpoint_path = "checkpoints/" + name
                torch.save(model.state_dict(), checkpoint_path)

            def train_one_epoch(model, loader, optimizer):
                for x, y in loader:
                    loss = model(x).sum()
                    loss.backward()
                    optimizer.step()

            def train(model, loader, optimizer):
                for epoch in range(NUM_EPOCHS):
                    train_one_epoch(model, loader, optimizer)
                    if (epoch + 1) % 10 == 0:
                        save_checkpoint(model, f"epoch_{epoch}")
        """),
    )
    assert "3 epochs" in message and "`(epoch + 1) % 10 == 0` is never true" in message


def test_a_reachable_save_or_an_opt_in_flag_on_a_short_run_is_silent(project):
    assert not _gl503(
        project,
        ("constants.py", "NUM_EPOCHS = 30\n"),
        ("reachable.py", """
            import torch
            from constants import NUM_EPOCHS

            for epoch in range(NUM_EPOCHS):
                STEP
                if (epoch + 1) % 10 == 0:
                    torch.save(model.state_dict(), "ckpt.pt")
        """),
        ("mnist.py", """
            import argparse
            import torch

            parser = argparse.ArgumentParser()
            parser.add_argument("--epochs", type=int, default=14)
            parser.add_argument("--save-model", action="store_true", default=False)
            args = parser.parse_args()

            for epoch in range(1, args.epochs + 1):
                STEP
            if args.save_model:
                torch.save(model.state_dict(), "mnist_cnn.pt")
        """),
        ("unknown.py", """
            import torch

            for epoch in range(100):
                STEP
                if val_loss < best:
                    torch.save(model.state_dict(), "best.pt")
        """),
    )


def test_loading_a_checkpoint_is_not_saving_one(project):
    [message] = _gl503(
        project,
        ("config.py", "NUM_EPOCHS = 100\nLOAD_MODEL = True\n"),
        ("train.py", """
            import torch
            import config
            from utils import load_checkpoint, save_checkpoint

            if config.LOAD_MODEL:
                load_checkpoint("checkpoint.pth.tar", model, optimizer)
            for epoch in range(config.NUM_EPOCHS):
                STEP
                # save_checkpoint(model, optimizer)
        """),
    )
    assert "100 epochs" in message and "nothing in the module saves" in message


@pytest.mark.parametrize("guard", ["if True:", "if epoch % 10 == 0:", "if args.save:", "else_branch"])
def test_saves_that_may_run_keep_gl503_silent(guard):
    body = "torch.save(model.state_dict(), 'x.pt')"
    if guard == "else_branch":
        block = f"        if epoch < 0:\n            pass\n        else:\n            {body}\n"
    else:
        block = f"        {guard}\n            {body}\n"
    silent("GL503", "import torch\nfor epoch in range(100):\n" + textwrap.indent(STEP, "    ") + block)


def test_a_demo_whose_only_output_is_sample_images_stays_silent(project):
    assert not _gl503(project, ("gan.py", """
        import torch
        from torchvision.utils import save_image

        for epoch in range(200):
            STEP
            save_image(generator(z), "images/%d.png" % epoch)
    """))


def test_detection_recipe_with_the_epoch_function_in_another_module(project):
    # the step loop lives in engine.py; a resumed run rebinds the start epoch; loading a checkpoint
    # and building checkpoint paths under the off-by-default output directory are not saves
    [message] = _gl503(
        project,
        ("engine.py", """
            def train_one_epoch(model, loader, optimizer):
                for x, y in loader:
                    loss = model(x).sum()
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
        """),
        ("main.py", """
            import argparse
            import torch
            from engine import train_one_epoch

            parser = argparse.ArgumentParser()
            parser.add_argument("--epochs", default=300, type=int)
            parser.add_argument("--start_epoch", default=0, type=int)
            parser.add_argument("--output_dir", default="")
            parser.add_argument("--resume", default="")
            parser.add_argument("--eval", action="store_true")
            args = parser.parse_args()

            if args.resume:
                checkpoint = torch.load(args.resume, map_location="cpu")
                model.load_state_dict(checkpoint["model"])
                args.start_epoch = checkpoint["epoch"] + 1
            if args.eval:
                save_on_master(stats, "eval.pth")
            for epoch in range(args.start_epoch, args.epochs):
                train_one_epoch(model, loader, optimizer)
                if args.output_dir:
                    checkpoint_paths = [args.output_dir + "/checkpoint.pth"]
                    for checkpoint_path in checkpoint_paths:
                        save_on_master({"model": model.state_dict(), "epoch": epoch}, checkpoint_path)
        """),
    )
    assert "300 epochs" in message and "`args.output_dir` is never true" in message
