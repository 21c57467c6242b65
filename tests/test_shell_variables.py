"""A shell script's own variables in its launch lines (advisor/shell_variables.py): Kaldi/ESPnet
recipes (kaituoxu/Speech-Transformer's egs/aishell/run.sh sets `epochs=150` and passes
`--epochs $epochs`) and most research `train.sh` files set a run's settings first and pass them on."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from greenlint.launch_scripts import _launches_in
from greenlint.shell_variables import known_variables, substitute

RECIPE = """
    #!/bin/bash
    . ./path.sh
    epochs=150  # maximum epochs
    export NGPUS=8
    CONFIG=${CONFIG:-configs/base.yaml}
    name="baseline run"
    for lr in 0.1 0.01; do echo $lr; done
    ${cuda_cmd} --gpu ${ngpu} ${expdir}/train.log \\
        torchrun --nproc_per_node=$NGPUS train.py \\
        --epochs $epochs --config ${CONFIG} --lr $lr --seed ${SEED:-3} --tag '$epochs' --data $1
"""


def _launch(text: str):
    [launch] = [launch for launch in _launches_in(textwrap.dedent(text).lstrip("\n"), "egs/run.sh", "egs")
                if launch.script == "egs/train.py"]
    return launch


def test_variables_the_script_fixes_are_put_in():
    launch = _launch(RECIPE)
    assert launch.script == "egs/train.py"
    assert launch.options["--epochs"] == "150"
    assert launch.options["--config"] == "configs/base.yaml"  # the default of ${CONFIG:-...}
    assert launch.options["--seed"] == "3"  # a use's own literal default
    assert launch.processes == 8 and launch.launcher == "`torchrun --nproc_per_node=8`"


def test_what_the_script_does_not_fix_stays_unknown():
    launch = _launch(RECIPE)
    assert launch.options["--lr"] == "$lr"  # a for-loop variable
    assert launch.options["--tag"] == "$epochs"  # single quotes: the shell does not substitute
    assert launch.options["--data"] == "$1"  # positional parameters never


@pytest.mark.parametrize("assignments", [
    "EPOCHS=100\nEPOCHS=5\n",  # two different values: which one runs depends on the path taken
    "EPOCHS=$((10 * 10))\n",  # arithmetic
    "EPOCHS=$(cat epochs.txt)\n",  # command substitution
    "EPOCHS=$BASE\n",  # another variable
    "read EPOCHS\n",
    "EPOCHS=100 python other.py\n",  # an environment prefix of one command, not an assignment
])
def test_ambiguous_or_computed_values_are_unknown(assignments: str):
    launch = _launch(assignments + "python train.py --epochs $EPOCHS\n")
    assert launch.options["--epochs"] == "$EPOCHS"


def test_same_value_twice_and_quoted_values():
    known = known_variables(["EPOCHS=100", "if [ -z $X ]; then EPOCHS=100; fi", "NAME='a b'", 'OUT="runs/x"'])
    assert known == {"EPOCHS": "100", "NAME": "a b", "OUT": "runs/x"}
    assert substitute("python t.py -e ${EPOCHS} -o $OUT/$EPOCHS", known) == "python t.py -e 100 -o runs/x/100"


def test_notebooks_and_windows_files_are_left_as_written(tmp_path: Path):
    # a Windows command file's %VAR% and a notebook's Python variables are another language
    [launch] = _launches_in("set E=100\r\npython train.py --epochs $E\r\n", "run.cmd", "", windows=True)
    assert launch.options["--epochs"] == "$E"


def test_a_recipe_runs_a_script_on_its_path(tmp_path: Path):
    # ESPnet/Kaldi layout: egs/aishell/run.sh runs `train.py`, which path.sh puts on PATH from src/bin
    from greenlint.launch_scripts import read_launches

    (tmp_path / "egs" / "aishell").mkdir(parents=True)
    (tmp_path / "src" / "bin").mkdir(parents=True)
    (tmp_path / "src" / "bin" / "train.py").write_text("print()\n")
    (tmp_path / "egs" / "aishell" / "run.sh").write_text("epochs=150\n${cuda_cmd} log train.py --epochs $epochs\n")
    [launch] = read_launches(tmp_path)
    assert launch.script == "src/bin/train.py" and launch.options == {"--epochs": "150"}
    # two files of that name: which one runs is not known
    (tmp_path / "egs" / "aishell" / "local").mkdir()
    (tmp_path / "egs" / "aishell" / "local" / "train.py").write_text("print()\n")
    [launch] = read_launches(tmp_path)
    assert launch.script == "egs/aishell/train.py"
