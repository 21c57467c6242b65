"""Which files are linted: .gitignore, default and configured excludes, explicit files."""

from __future__ import annotations


def _names(project, *args):
    code, out, err = project.run("check", "--no-cache", "--quiet", "--select", "GL001", *args)
    assert code in (0, 1), err
    return sorted(line.split(":", 1)[0] for line in out.splitlines())


def _bad(project, relative):
    project.write(relative, "def f(:\n")


def test_default_excludes_and_gitignore(project):
    for relative in ("a.py", ".venv/lib/x.py", "build/x.py", "__pycache__/x.py", "sub/node_modules/x.py",
                     "ignored_dir/x.py", "sub/secret.py", "sub/keep.py", "notes.txt"):
        _bad(project, relative)
    (project.root / ".git").mkdir()
    project.write(".gitignore", "ignored_dir/\n")
    project.write("sub/.gitignore", "secret.py\n")
    assert _names(project) == ["a.py", "sub/keep.py"]
    assert "ignored_dir/x.py" in _names(project, "--no-respect-gitignore")


def test_gitignore_above_the_linted_directory_applies(project):
    (project.root / ".git").mkdir()
    project.write(".gitignore", "src/generated/\n")
    _bad(project, "src/generated/x.py")
    _bad(project, "src/y.py")
    assert _names(project, "src") == ["src/y.py"]


def test_a_whitelist_gitignore_follows_git(project):
    """`*`, then `!*/` and `!*.*` (qiuqiangkong/audioset_tagging_cnn): everything is ignored except
    folders and names with a dot, so git tracks pytorch/main.py; git decides each path by its last
    matching pattern, and nothing inside an ignored folder comes back."""
    (project.root / ".git").mkdir()
    project.write(".gitignore", "*\n!*/\n!*.*\n*.pyc\n/build/\n!build/keep.py\n")
    for relative in ("pytorch/main.py", "pytorch/utils/a.py", "top.py", "build/keep.py"):
        _bad(project, relative)
    assert _names(project) == ["pytorch/main.py", "pytorch/utils/a.py", "top.py"]
    assert _names(project, "pytorch/main.py") == ["pytorch/main.py"]


def test_extend_exclude_and_explicit_files(project):
    _bad(project, "a.py")
    _bad(project, "scratch/b.py")
    assert _names(project, "--extend-exclude", "scratch") == ["a.py"]
    # a file named on the command line is linted even when excluded
    assert _names(project, "--extend-exclude", "scratch", "scratch/b.py") == ["scratch/b.py"]


def test_exclude_from_config_is_relative_to_the_config(project):
    project.write("pyproject.toml", '[tool.greenlint]\nextend-exclude = ["legacy/*.py"]\n')
    _bad(project, "legacy/old.py")
    _bad(project, "legacy/deeper/old.py")
    assert _names(project) == ["legacy/deeper/old.py"]


def test_force_exclude_applies_to_explicit_files(project):
    project.write("pyproject.toml", '[tool.greenlint]\nextend-exclude = ["legacy"]\n')
    _bad(project, "legacy/old.py")
    _bad(project, "new.py")
    (project.root / ".git").mkdir()
    project.write(".gitignore", "gen_*.py\n")
    _bad(project, "gen_x.py")
    assert _names(project, "legacy/old.py", "new.py", "gen_x.py") == ["gen_x.py", "legacy/old.py", "new.py"]
    assert _names(project, "--force-exclude", "legacy/old.py", "new.py", "gen_x.py") == ["new.py"]


def test_a_folder_named_inside_an_excluded_one_is_linted(project):
    # `greenlint check .venv/lib/python3.11/site-packages/torch`: the user asked for this package,
    # so it is linted (as ruff does); the default excludes still apply to the folders below it
    site = ".venv/lib/python3.11/site-packages/pkg"
    for relative in (f"{site}/a.py", f"{site}/sub/b.py", f"{site}/__pycache__/c.py", f"{site}/build/d.py", "top.py"):
        _bad(project, relative)
    (project.root / ".git").mkdir()
    project.write(".gitignore", ".venv/\n")
    assert _names(project) == ["top.py"]
    assert _names(project, site) == [f"{site}/a.py", f"{site}/sub/b.py"]
    assert _names(project, "--force-exclude", site) == []
