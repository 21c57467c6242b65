"""What each command imports (issue 16). No timing here: bench/startup.py measures the speed; these
tests check the cause, which is deterministic: which modules a command loads."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from greenlint.rules import ALL_RULES
from greenlint.rules.catalog import CATALOG, codes_that_could_match
from greenlint.rules.make_catalog import catalog_source

CATALOG_DATA = Path(__file__).resolve().parents[1] / "rules" / "catalog_data.py"

# Runs `greenlint ARGS` in a fresh interpreter, then prints which heavy packages it imported.
_PROBE = textwrap.dedent("""
    import json, sys
    from greenlint.cli import main
    try:
        code = main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
    loaded = sorted({name.split(".")[0] for name in sys.modules} & {"libcst", "rich", "pathspec"})
    rule_modules = sorted(name for name in sys.modules if name.startswith("greenlint.rules.") and ".gl" in name)
    sys.__stderr__.write("\\nPROBE " + json.dumps({"code": code, "loaded": loaded, "rule_modules": rule_modules}) + "\\n")
""")


def _imports(cwd: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    line = [line for line in proc.stderr.splitlines() if line.startswith("PROBE ")]
    assert line, proc.stderr
    return json.loads(line[-1][len("PROBE "):])


def test_catalog_data_is_current():
    assert CATALOG_DATA.read_text(encoding="utf-8") == catalog_source(ALL_RULES), (
        "rules/catalog_data.py is stale: run `python -m greenlint.rules.make_catalog > rules/catalog_data.py`"
    )


def test_the_catalog_prefilter_agrees_with_the_rules():
    assert [e.code for e in CATALOG] == [r.code for r in ALL_RULES]
    enabled = frozenset(r.code for r in ALL_RULES)
    for text in ("x = 1\n", "import torch\nmodel.cuda()\nloss.backward()\nopt.step()\n", "import pandas as pd\nfor r in df.iterrows(): pass\n"):
        expected = [r.code for r in ALL_RULES if not r.engine_reported and r.could_match(text)]
        assert codes_that_could_match(text, enabled) == expected


def test_version_imports_neither_libcst_nor_rich_nor_any_rule(tmp_path):
    result = _imports(tmp_path, "--version")
    assert result["code"] == 0
    assert result["loaded"] == [] and result["rule_modules"] == []


def test_a_piped_check_of_a_file_no_rule_matches_imports_no_libcst_rich_or_rule(tmp_path):
    (tmp_path / "util.py").write_text("def clamp(v, lo, hi):\n    return max(lo, min(hi, v))\n", encoding="utf-8")
    result = _imports(tmp_path, "check", "--no-cache", "util.py")
    assert result["code"] == 0
    assert result["loaded"] == [] and result["rule_modules"] == []


def test_a_check_imports_only_the_rules_whose_trigger_words_the_file_has(tmp_path):
    (tmp_path / "frames.py").write_text("import pandas as pd\nfor i, row in df.iterrows():\n    print(row)\n", encoding="utf-8")
    result = _imports(tmp_path, "check", "--preview", "--no-cache", "frames.py")
    assert "libcst" in result["loaded"]
    matched = codes_that_could_match((tmp_path / "frames.py").read_text(), frozenset(e.code for e in CATALOG))
    assert matched and len(result["rule_modules"]) == len(matched) < len([e for e in CATALOG if not e.engine_reported])


def test_a_syntax_error_in_a_file_no_rule_matches_is_still_reported(tmp_path):
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "greenlint", "check", "--no-cache", "bad.py"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1 and "bad.py:1:7: GL001 syntax error" in proc.stdout
