"""Config files chosen per launch (`python train.py --config configs/large.yaml`): the value a
script reads through the option comes from the file its launch commands pass
(advisor/launch_scripts.py: config_choices_for; rules/analysis/config_file_values.py). A shape
common in research code: severstal's `experiments/*.yml`, FastSpeech2's `-t config/*/train.yaml`."""

from __future__ import annotations

import json

from greenlint.launch_scripts import Launch, config_choices_for

TRAIN = """import argparse
import torch
import yaml

parser = argparse.ArgumentParser()
parser.add_argument("--config", type=str, required=True)
args = parser.parse_args()
with open(args.config) as f:
    cfg = yaml.safe_load(f)

model = Net().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(cfg["train"]["epochs"]):
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        print(loss.item())
"""


def _epochs(n: int) -> str:
    return f"train:\n  epochs: {n}\n"


def _long_run(project) -> str:
    """The long-run evidence of train.py's findings ("" when it shows no long run)."""
    code, out, err = project.run("check", "--format", "json", "--cache-dir", str(project.root / ".cache"))
    assert code in (0, 1), err
    reasons = {f["impact"].get("long_run", "") for f in json.loads(out) if f["filename"] == "train.py"}
    return " ".join(sorted(reasons))


def test_choices_only_where_every_launch_passes_a_different_config_file():
    launches = [
        Launch("train.py", {"--config": "configs/a.yaml", "--seed": "1"}, "a.sh:2"),
        Launch("train.py", {"--config": "configs/b.yml", "--seed": "2"}, "README.md:9"),
        Launch("train.py", {"--config": "configs/a.yaml", "--seed": "3"}, "c.sh:1"),
    ]
    assert config_choices_for(launches, "train.py") == {
        "--config": (("configs/a.yaml", "a.sh:2"), ("configs/b.yml", "README.md:9"))}
    # a launch without the option runs the default; a shell variable is unknown: no choice known
    assert config_choices_for([*launches, Launch("train.py", {}, "d.sh:1")], "train.py") == {}
    assert config_choices_for([*launches, Launch("train.py", {"--config": "$CFG"}, "d.sh:1")], "train.py") == {}
    assert config_choices_for(launches[:1], "train.py") == {}  # one launch: options_for has it


def test_the_launched_config_file_gives_the_run_length(project):
    project.write("pyproject.toml", "[project]\nname = 'p'\n")
    project.write("train.py", TRAIN)
    project.write("configs/big.yaml", _epochs(300))
    assert _long_run(project) == ""  # no launch: the file read is unknown
    project.write("run.sh", "#!/bin/sh\npython train.py --config configs/big.yaml\n")
    assert "`train.epochs: 300` in configs/big.yaml:2" in _long_run(project)


def test_launches_with_different_files_take_the_least_and_follow_edits(project):
    project.write("pyproject.toml", "[project]\nname = 'p'\n")
    project.write("train.py", TRAIN)
    project.write("configs/big.yaml", _epochs(300))
    project.write("configs/small.yaml", _epochs(200))
    project.write("run.sh", "#!/bin/sh\npython train.py --config configs/big.yaml\n")
    project.write("README.md", "Fine-tune:\n\n```\npython train.py --config configs/small.yaml\n```\n")
    reason = _long_run(project)
    assert "200 epochs" in reason and "the least of the 2 config files the launches pass to `--config`" in reason
    # editing a launched file changes the (cached) result: the cache keys on it
    project.write("configs/small.yaml", _epochs(20))
    assert _long_run(project) == ""
    # a file whose value is not a number, or that lacks the key, leaves the length unknown
    project.write("configs/small.yaml", "train:\n  epochs: auto\n")
    assert _long_run(project) == ""
    project.write("configs/small.yaml", _epochs(300))
    assert "300 epochs" in _long_run(project) and "in each of the 2 config files" in _long_run(project)
