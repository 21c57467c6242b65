"""GL0xx: greenlint's own problems with a file. The engine reports these; they have no check."""

from __future__ import annotations

from greenlint.rules.base import Rule


class _EngineRule(Rule):
    engine_reported = True
    fix_applicability = None
    saving_scope = "none: the file could not be analysed"
    evidence = ()


class InternalError(_EngineRule):
    code = "GL000"
    name = "internal-error"
    summary = "A rule raised an exception on this file (a greenlint bug): the other rules still ran"
    detects = "An exception inside one rule's check. The message names the rule and the exception."
    why = "Not an energy problem: it means greenlint could not check this file for one rule."
    bad_example = ""
    good_example = ""
    fix = "Report it to greenlint's maintainers with the file, if you can share it."


class SyntaxErrorInFile(_EngineRule):
    code = "GL001"
    name = "syntax-error"
    summary = "The file does not parse, so it could not be analysed"
    detects = "A file that is not valid Python (the message gives the parser's error and position)."
    why = "Not an energy problem: greenlint cannot check a file it cannot parse."
    bad_example = "def train(:\n    pass\n"
    good_example = "def train():\n    pass\n"
    fix = "Fix the syntax error."


class UndecodableFile(_EngineRule):
    code = "GL002"
    name = "undecodable-file"
    summary = "The file's bytes are not text in its declared encoding (UTF-8 when none is declared)"
    detects = (
        "A file that cannot be decoded: invalid UTF-8 without a PEP 263 coding line, bytes invalid "
        "in the declared encoding, or an unknown codec. A BOM and a coding line are honoured."
    )
    why = "Not an energy problem: greenlint cannot check a file it cannot read as text."
    bad_example = ""
    good_example = ""
    fix = "Save the file as UTF-8, or declare its real encoding with `# -*- coding: latin-1 -*-`."


class MalformedNotebook(_EngineRule):
    code = "GL003"
    name = "malformed-notebook"
    summary = "A .ipynb file that is not a readable Python notebook"
    detects = (
        "A notebook that is not JSON, has no `cells` list, has cells whose `source` is not text, or "
        "declares a kernel language other than Python."
    )
    why = "Not an energy problem: greenlint cannot check a notebook it cannot read."
    bad_example = ""
    good_example = ""
    fix = "Repair the notebook (open and save it in Jupyter), or exclude it."


class FileOverLimit(_EngineRule):
    code = "GL004"
    name = "file-over-limit"
    summary = "A file over the per-file size or time limit was not (fully) analysed"
    detects = (
        "A file larger than 1,000,000 characters (its syntax tree would need about 555 bytes of memory "
        "per character, measured), which gets only Python's syntax check (none above 10,000,000 "
        "characters, where even that needs about 1 GB); or a file whose analysis ran "
        "past 120 seconds, which keeps the findings made so far: the message names the rules that did "
        "not run and counts the findings left without a fix."
    )
    why = "Not an energy problem: it bounds what one file can cost so that a run over a large tree finishes."
    bad_example = ""
    good_example = ""
    fix = "Split the file (generated data belongs in a data file), or exclude it."


class NotAnalysed(_EngineRule):
    code = "GL005"
    name = "not-analysed"
    summary = "Python accepts the file but greenlint's parser does not, so no rule checked it"
    detects = (
        "A file that CPython compiles but libcst rejects, even after the tabs of its indentation "
        "are expanded (a file mixing tabs and spaces is analysed that way, without fixes): usually "
        "grammar newer than the installed libcst, or an expression libcst's own node validation refuses "
        "(`1 if a else(2 if b else 0)`). Never reported for a file Python rejects (GL001)."
    )
    why = "Not an energy problem: greenlint could not check this file, so silence here means nothing."
    bad_example = ""
    good_example = ""
    fix = "Upgrade libcst (`pip install -U libcst`); if that does not help, report the file to greenlint."


RULES = (InternalError(), SyntaxErrorInFile(), UndecodableFile(), MalformedNotebook(), FileOverLimit(), NotAnalysed())
