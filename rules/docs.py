"""Rule documentation, generated from each rule's own attributes (the one place it lives)."""

from __future__ import annotations

from greenlint.rules import COMPUTE_BOUND_CODES, DETECTION_CODES, MULTI_GPU_CODES, NEVER_WORTH, PER_FIT_CODES, STEP_SYNC_CODES
from greenlint.rules.base import FAMILIES, Rule
from greenlint.rules.impact_estimate import rule_impact_sentence

_FIX_WORDS = {
    "safe": "safe: applied by `--fix`",
    "unsafe": "unsafe: changes numerics or behaviour, applied only with `--unsafe-fixes`",
    None: "none: advice only",
}


# what a detected long run needs besides its length before it shows these rules (detection_scope.py)
_DETECTION_CONDITION = {
    **{code: "; in a notebook, only when its saved output shows one training of an hour or more (early stopping "
             "cuts one fit short)" for code in PER_FIT_CODES},
    **{code: "; a detected run only where the module shows two or more GPUs (a GPU-id option such as "
             "`--gpu_ids 0,1`, a GPU count of 2+, a launch on several processes, a README line such as \"trained with 4 "
             "GPUs\"): on one GPU DataParallel "
             "replicates nothing" for code in MULTI_GPU_CODES},
    **{code: "; a detected run only where the module shows a compute-heavy step (a large architecture, a "
             "pretrained Transformer, wide attention, 128-pixel-or-larger images, a project model class whose "
             "layers reach 512 channels) or a run spread over several GPUs, and never for a known small workload, a "
             "model of narrow `Linear` layers only or a GPU without tensor cores the project names: a launch-bound "
             "step saves about nothing" for code in COMPUTE_BOUND_CODES},
    **{code: "; on a detected run whose step is compute-heavy, only where the module syncs three times or more "
             "(one or two reads of a long step cost well under 1 %)" for code in STEP_SYNC_CODES},
}


def _blocks(rule: Rule) -> list[tuple[str, str, object]]:
    """The rule's documentation as (kind, label, content) blocks, rendered as Markdown (docs, SARIF,
    `greenlint rule` on a terminal) or as plain text (`greenlint rule` piped)."""
    data = rule.to_json()
    blocks: list[tuple[str, str, object]] = []
    if rule.preview:
        if rule.code in NEVER_WORTH:
            where = ("No judge found its findings worth acting on in any blind corpus, long runs included, so "
                     "`long-runs` does not enable it either.")
        elif rule.code in DETECTION_CODES:
            where = ("It also reports in the files named in `long-runs` (the scripts that run for hours) and in "
                     "files whose own code shows a long run (`detect-long-runs`, the default), whatever its "
                     "estimated impact" + _DETECTION_CONDITION.get(rule.code, "") + ".")
        else:
            where = ("It also reports in the files named in `long-runs` (the scripts that run for hours), "
                     "whatever its estimated impact; a long run the detection finds in a file's code does not "
                     "show it: the blind judges rarely found it worth acting on there (docs/precision.md).")
        blocks.append(("text", "Preview.", "Measured under 80 % precision on real code (docs/precision.md): it runs only "
                                           f"with `--preview` (or `preview = true` in the configuration). {where}"))
    blocks += [("text", "What it detects.", data["detects"]), ("text", "Why it wastes energy.", data["why"])]
    if data["bad_example"]:
        blocks.append(("code", "Example.", data["bad_example"].rstrip("\n")))
    if data["good_example"]:
        blocks.append(("code", "Use instead.", data["good_example"].rstrip("\n")))
    blocks += [("text", "Fix.", data["fix"]), ("text", "Autofix.", _FIX_WORDS[rule.fix_applicability])]
    if data["saving_scope"]:
        blocks.append(("text", "What it can save.", data["saving_scope"]))
    # every rule says how much its findings matter, or that nobody has estimated it (issue 14)
    blocks.append(("text", "How much it matters.", rule_impact_sentence(rule.impact)))
    if data["evidence"]:
        anchor = f"evidence.md#{rule.code.lower()}"  # every figure's source and how it was obtained
        blocks.append(("evidence", anchor, [f"{e['claim']} — {e['source']} [{e['confidence']}]" for e in data["evidence"]]))
    return blocks


def rule_markdown(rule: Rule, heading: str = "#", links: bool = True) -> str:
    """`links=False` for a terminal: a relative link means nothing there and rich would print it
    as an OSC 8 hyperlink escape."""
    parts = [f"{heading} {rule.code} {rule.name}", "", f"*{rule.family}* — {rule.summary}", ""]
    for kind, label, content in _blocks(rule):
        if kind == "text":
            parts += [f"**{label}** {content}", ""]
        elif kind == "code":
            parts += [f"**{label}**", "", "```python", str(content), "```", ""]
        else:  # evidence: the label is the anchor of the rule's section in docs/evidence.md
            where = f"[docs/{label}]({label})" if links else f"docs/{label}"
            parts += [f"**Evidence** (sources: {where}).", "", *(f"- {item}" for item in content), ""]  # type: ignore[union-attr]
    return "\n".join(parts)


def rule_text(rule: Rule) -> str:
    """Plain text for a pipe or a file: no Markdown markup, one line per paragraph (the reader's
    pager or editor wraps it), code indented by four spaces."""
    parts = [f"{rule.code} {rule.name}", f"{rule.family} — {rule.summary}", ""]
    for kind, label, content in _blocks(rule):
        if kind == "text":
            parts += [f"{label} {content}", ""]
        elif kind == "code":
            parts += [label, "", *(f"    {line}" if line else "" for line in str(content).split("\n")), ""]
        else:  # evidence
            parts += [f"Evidence (sources: docs/{label}):", *(f"- {item}" for item in content), ""]  # type: ignore[union-attr]
    return "\n".join(parts)


def catalog_markdown(rules: tuple[Rule, ...]) -> str:
    lines = [
        "# greenlint rules",
        "",
        "Generated from the rules themselves by `python -m greenlint.rules.docs > docs/rules.md`;",
        "`tests/test_rule_docs.py` fails when this file is out of date.",
        "",
        "| code | name | summary | autofix |",
        "|---|---|---|---|",
    ]
    for rule in rules:
        lines.append(f"| [{rule.code}](#{rule.code.lower()}-{rule.name}) | {rule.name} | {rule.summary}{' (preview)' if rule.preview else ''} | {rule.fix_applicability or '—'} |")
    lines.append("")
    family = None
    for rule in rules:
        if rule.code[:3] != family:
            family = rule.code[:3]
            lines += [f"## {family}xx: {FAMILIES[family]}", ""]
        lines.append(rule_markdown(rule, heading="###"))
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    import sys

    from greenlint.rules import ALL_RULES

    sys.stdout.write(catalog_markdown(ALL_RULES))
