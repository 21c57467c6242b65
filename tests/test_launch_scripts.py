"""The options a project's shell scripts launch a script with (advisor/launch_scripts.py) and
their use by the argparse resolution: jadore801120/attention-is-all-you-need-pytorch's train.py
defaults to `-epoch 10` while train_multi30k_de_en.sh runs it with `-epoch 200` (a shape written
from that repository, not its code)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from greenlint.config import Settings
from greenlint.launch_scripts import Launch, _launches_in, least_options_for, options_for, processes_for, read_launches
from greenlint.runner import lint_files
from greenlint.selection import RuleSelection

TRAIN = """
    import argparse
    import torch

    def train_epoch(model, data, optimizer):
        for x, y in data:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def eval_epoch(model, data):
        return 0.0, 0.0

    def train(model, training_data, validation_data, optimizer, opt):
        for epoch_i in range(opt.epoch):
            train_epoch(model, training_data, optimizer)
            valid_loss, valid_accu = eval_epoch(model, validation_data)
            torch.save(model.state_dict(), "model.chkpt")

    def main():
        parser = argparse.ArgumentParser()
        parser.add_argument("-epoch", type=int, default=10)
        parser.add_argument("-b", "--batch_size", type=int, default=2048)
        opt = parser.parse_args()
        train(model, train_data, val_data, optimizer, opt)

    if __name__ == "__main__":
        main()
"""

LAUNCH = """
    # gpu=0 bash run.sh
    CUDA_VISIBLE_DEVICES=${gpu} python train.py \\
    -data_pkl data.pkl \\
    -label_smoothing \\
    -b 256 \\
    -epoch EPOCHS \\
    -output_dir output/run_${lr}
"""


def test_launch_lines_are_joined_and_split_like_a_shell():
    [launch] = _launches_in(textwrap.dedent(LAUNCH.replace("EPOCHS", "200")), "run.sh", "")
    assert launch.script == "train.py" and launch.where == "run.sh:3"
    assert launch.options["-epoch"] == "200" and launch.options["-b"] == "256"
    assert launch.options["-label_smoothing"] is None


def test_python_dash_m_and_nested_folders():
    [launch] = _launches_in("python -m src.training -e 1000 --lr=3e-4\n", "scripts/a.sh", "scripts")
    assert launch.script == "-m src.training" and launch.options == {"-e": "1000", "--lr": "3e-4"}
    [relative] = _launches_in("python ../train.py --epochs 5\n", "scripts/a.sh", "scripts")
    assert relative.script == "train.py"


def test_only_options_every_launch_agrees_on():
    launches = [
        Launch("train.py", {"-epoch": "200", "-b": "256", "-o": "out/$x"}, "a.sh:1"),
        Launch("train.py", {"-epoch": "200", "-b": "128"}, "b.sh:1"),
        Launch("other.py", {"-epoch": "5"}, "c.sh:1"),
    ]
    assert options_for(launches, "train.py") == {"-epoch": ("200", "a.sh:1")}
    assert options_for(launches, "missing.py") == {}


def test_the_smallest_of_numbers_every_launch_passes():
    # cloneofsimo/lora d84074b: run_lora_db_unet_only.sh passes --max_train_steps=30000 and
    # run_lora_db_w_text.sh 10000 to the same script
    launches = [
        Launch("train.py", {"--max_train_steps": "30000", "--lr": "1e-4", "--out": "a"}, "a.sh:6"),
        Launch("train.py", {"--max_train_steps": "10000", "--lr": "1e-4", "--out": "b"}, "b.sh:6"),
    ]
    assert least_options_for(launches, "train.py") == {"--max_train_steps": ("10000", "b.sh:6, the smallest of 2 launches")}
    # an option one launch leaves out, or passes as a variable, has no lower bound
    launches.append(Launch("train.py", {"--max_train_steps": "$STEPS"}, "c.sh:1"))
    assert least_options_for(launches, "train.py") == {}
    assert least_options_for(launches[:1], "train.py") == {}  # one launch: options_for has it


def _lint(root: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> list:
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text).lstrip("\n"))
    monkeypatch.chdir(root)
    settings = Settings(project_root=root, selection=RuleSelection(select=("ALL",), preview=True))
    return [f for f in lint_files([root / "train.py"], settings, use_cache=False, jobs=1).findings if f.code == "GL502"]


def test_epochs_from_the_launch_script_decide_the_run_length(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    [finding] = _lint(tmp_path, monkeypatch, {"train.py": TRAIN, "run.sh": LAUNCH.replace("EPOCHS", "200")})
    assert "200 epochs" in finding.message and "`-epoch 200` in run.sh:2" in finding.message


def test_without_the_script_the_default_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert _lint(tmp_path, monkeypatch, {"train.py": TRAIN}) == []  # 10 epochs: short


def test_disagreeing_launches_fall_back_to_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    files = {"train.py": TRAIN, "run.sh": LAUNCH.replace("EPOCHS", "200"), "short.sh": "python train.py -epoch 3\n"}
    assert _lint(tmp_path, monkeypatch, files) == []


def test_batch_job_and_windows_command_files(tmp_path: Path):
    # share020/dl 73c10db assignments/mp4/src/utils/run_part_2.pbs (a PBS job running main.py) and
    # PososikTeam/Cassava 4de2fb7 EffB5_medium.cmd (`python train.py ... -e 150` per fold)
    from greenlint.launch_scripts import read_launches

    (tmp_path / "job.pbs").write_text("#!/bin/bash\n#PBS -l walltime=03:00:00\ncd src\naprun -n 1 python main.py --epochs 300\n")
    (tmp_path / "fold.cmd").write_text("python train.py -b 8 ^\n  -e 150 -lr %LR%\r\n")
    launches = {launch.script: launch for launch in read_launches(tmp_path)}
    assert launches["main.py"].options == {"--epochs": "300"} and launches["main.py"].where == "job.pbs:4"
    assert launches["train.py"].options["-e"] == "150"
    assert options_for(list(launches.values()), "train.py") == {"-b": ("8", "fold.cmd:1"), "-e": ("150", "fold.cmd:1")}


# -- launches written outside shell scripts (advisor/launch_sources.py) -------------------------


def _notebook(*cells: str) -> str:
    import json

    return json.dumps({"cells": [{"cell_type": "markdown", "source": ["# Train\n"]}]
                       + [{"cell_type": "code", "source": cell.splitlines(keepends=True), "outputs": []} for cell in cells]})


def test_readme_commands_are_launches(tmp_path: Path):
    # zzh8829/yolov3-tf2 2784050 README.md:103 shows `python train.py ... --epochs 100 --mode eager_tf`
    (tmp_path / "train.py").write_text("print('x')\n")
    (tmp_path / "README.md").write_text(textwrap.dedent("""\
        # Training
        Run `train.py` with the flags below; python is 3.8 or later.

        ```bash
        $ python train.py --batch_size 8 \\
            --epochs 100 --mode eager_tf
        ```
            python train.py --epochs 100 --mode fit
        `python detect.py --image x.jpg`
        """))
    launches = read_launches(tmp_path)
    assert [launch.where for launch in launches] == ["README.md:5", "README.md:8", "README.md:9"]
    assert options_for(launches, "train.py") == {"--epochs": ("100", "README.md:5")}


def test_a_readme_in_a_subfolder_names_root_scripts(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "train.py").write_text("")
    (tmp_path / "docs" / "training.md").write_text("python train.py --epochs 10\n")
    [launch] = read_launches(tmp_path)
    assert launch.script == "train.py" and launch.where == "docs/training.md:1"


def test_notebook_shell_lines_are_launches(tmp_path: Path):
    # philschmid/deep-learning-pytorch-huggingface 59b3797: the FLAN-T5 notebook launches its
    # script with `!deepspeed --num_gpus=8 scripts/run_seq2seq_deepspeed.py ...`
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "run.py").write_text("")
    (tmp_path / "launch.ipynb").write_text(_notebook(
        "import os\n!pip install transformers\n",
        "!deepspeed --num_gpus=8 scripts/run.py \\\n  --epochs 3 --deepspeed configs/z3.json\n",
        "%run scripts/run.py --epochs 5\n",
        "%%bash\ncd x\npython scripts/run.py --epochs 7\n",
    ))
    launches = read_launches(tmp_path)
    assert [(launch.where, launch.options.get("--epochs")) for launch in launches] == [
        ("launch.ipynb cell 2", "3"), ("launch.ipynb cell 3", "5"), ("launch.ipynb cell 4", "7")]
    assert processes_for(launches, "scripts/run.py") == (8, "`deepspeed --num_gpus=8` in launch.ipynb cell 2")
    assert least_options_for(launches, "scripts/run.py")["--epochs"][0] == "3"


def test_a_broken_notebook_gives_no_launch(tmp_path: Path):
    (tmp_path / "bad.ipynb").write_text("{not json")
    (tmp_path / "odd.ipynb").write_text('{"cells": [1, {"cell_type": "code", "source": 5}]}')
    assert read_launches(tmp_path) == []


@pytest.mark.parametrize(("command", "processes", "launcher"), [
    ("torchrun --nproc_per_node=8 train.py --epochs 3", 8, "`torchrun --nproc_per_node=8`"),
    ("torchrun --nnodes 2 --nproc_per_node 4 train.py", 8, "`torchrun --nnodes=2 --nproc_per_node=4`"),
    ("CUDA_VISIBLE_DEVICES=0,1 python -m torch.distributed.launch --nproc_per_node=2 train.py -e 5", 2,
     "`torch.distributed.launch --nproc_per_node=2`"),
    ("accelerate launch --multi_gpu train.py", 2, "`accelerate --multi_gpu`"),
    ("horovodrun -np 4 python train.py", 4, "`horovodrun -np=4`"),
    ("deepspeed train.py --deepspeed ds.json", 1, ""),  # every visible GPU: how many is unknown
    ("torchrun --nproc_per_node=$NGPU train.py", 1, ""),
    ("python train.py --nproc_per_node 8", 1, ""),  # the script's own option, not a launcher's
])
def test_processes_a_launcher_starts(command: str, processes: int, launcher: str):
    [launch] = _launches_in(command + "\n", "run.sh", "")
    assert launch.script == "train.py" and (launch.processes, launch.launcher) == (processes, launcher)
    assert processes_for([launch], "train.py") == ((processes, f"{launcher} in run.sh:1") if processes > 1 else None)


def test_the_launched_module_is_the_script_not_the_launcher():
    [launch] = _launches_in("python -m torch.distributed.run --nproc_per_node 4 -m src.train --lr 1\n", "a.sh", "")
    assert launch.script == "-m src.train" and launch.options == {"--lr": "1"} and launch.processes == 4
