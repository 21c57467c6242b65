"""Where the result cache lives (issue 17, items 2 and 20): greenlint never marks a folder it did
not create as ignored, refuses a cache folder that holds source files, and says where the cache is
when it creates one outside the current directory."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import GPU_TRAINING


def _gitignores(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(".gitignore"))


def test_cache_dir_dot_is_refused_and_nothing_is_written(project):
    project.write("train.py", GPU_TRAINING)
    code, _, err = project.run("check", "--cache-dir", ".", ".")
    assert code == 2
    assert "cache" in err and "source files" in err and "train.py" in err
    assert _gitignores(project.root) == []
    assert sorted(p.name for p in project.root.iterdir()) == ["train.py"]
    # and the next run still lints the file
    assert len(project.findings("--no-cache")) == 1  # GL301, the fixture's default-set finding


def test_cache_dir_that_is_a_source_package_is_refused(project):
    project.write("pyproject.toml", '[tool.greenlint]\ncache-dir = "src"\n')
    project.write("src/pkg/__init__.py", "")
    project.write("src/pkg/train.py", GPU_TRAINING)
    code, _, err = project.run("check", ".")
    assert code == 2
    assert "src" in err and "source files" in err
    assert _gitignores(project.root) == []


def test_cache_dir_above_the_project_is_refused(project, monkeypatch):
    project.write("sub/train.py", GPU_TRAINING)
    monkeypatch.chdir(project.root / "sub")
    code, _, err = project.run("check", "--cache-dir", "..", ".")
    assert code == 2
    assert "source files" in err
    assert _gitignores(project.root) == []


def test_old_gitignore_in_a_source_folder_is_pointed_out(project):
    project.write("train.py", GPU_TRAINING)
    project.write(".gitignore", "# Created by greenlint\n*\n")  # what earlier versions wrote
    code, _, err = project.run("check", "--no-respect-gitignore", "--cache-dir", ".", "train.py")
    assert code == 2
    assert ".gitignore" in err and "delete" in err


def test_existing_folder_gets_no_gitignore_but_holds_the_cache(project):
    project.write("train.py", GPU_TRAINING)
    (project.root / "mycache").mkdir()
    first = project.findings("--cache-dir", "mycache")
    assert _gitignores(project.root) == []
    assert list((project.root / "mycache").glob("results-*.json"))
    assert project.findings("--cache-dir", "mycache") == first


def test_folder_greenlint_creates_gets_a_gitignore(project):
    project.write("train.py", GPU_TRAINING)
    project.findings("--cache-dir", "made/cache")
    assert _gitignores(project.root) == ["made/cache/.gitignore"]


def test_cache_created_outside_the_current_directory_is_announced(project, monkeypatch):
    project.write("pyproject.toml", "[tool.greenlint]\n")
    project.write("sub/train.py", GPU_TRAINING)
    monkeypatch.chdir(project.root / "sub")
    code, _, err = project.run("check", ".")
    assert code == 1
    cache = (project.root / ".greenlint_cache").resolve()
    assert cache.is_dir()
    assert str(cache) in err.replace("\n", "") and "pyproject.toml" in err
    # said once, when it is created
    code, _, err = project.run("check", ".")
    assert code == 1 and str(cache) not in err.replace("\n", "")


def test_cache_inside_the_current_directory_is_not_announced(project):
    project.write("train.py", GPU_TRAINING)
    code, _, err = project.run("check", ".")
    assert code == 1 and "cache" not in err


def test_refusal_also_holds_for_json_output(project):
    project.write("train.py", GPU_TRAINING)
    code, out, err = project.run("check", "--format", "json", "--cache-dir", ".", ".")
    assert code == 2 and out == "" and "source files" in err
    assert "Traceback" not in err


def test_gitignore_an_earlier_greenlint_left_among_sources_is_not_applied(project):
    """Victims of the old behaviour: every run linted 0 files and said "All checks passed!"."""
    project.write("train.py", GPU_TRAINING)
    project.write("pkg/.gitignore", "# Created by greenlint\n*\n")
    project.write("pkg/model.py", GPU_TRAINING)
    project.write("made/cache/.gitignore", "# Created by greenlint\n*\n")  # a real cache folder: applied
    project.write("made/cache/results-x.json", "{}")
    code, out, err = project.run("check", "--no-cache", "--format", "json", ".")
    assert code == 1, err
    assert {f["filename"] for f in json.loads(out)} == {"train.py", "pkg/model.py"}
    assert "pkg/.gitignore" in err and "delete it" in err
    assert "made/cache" not in err
