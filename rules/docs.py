"""Rule documentation, generated from each rule's own attributes (the one place it lives)."""

from __future__ import annotations

from greenlint.rules.base import FAMILIES, Rule

_FIX_WORDS = {
    "safe": "safe: applied by `--fix`",
    "unsafe": "unsafe: changes numerics or behaviour, applied only with `--unsafe-fixes`",
    None: "none: advice only",
}


def rule_markdown(rule: Rule, heading: str = "#") -> str:
    data = rule.to_json()
    parts = [
        f"{heading} {rule.code} {rule.name}",
        "",
        f"*{data['family']}* — {rule.summary}",
        "",
        *([
            "**Preview.** Measured under 80 % precision on real code (docs/precision.md): it runs only "
            "with `--preview` (or `preview = true` in the configuration).",
            "",
        ] if rule.preview else []),
        f"**What it detects.** {data['detects']}",
        "",
        f"**Why it wastes energy.** {data['why']}",
        "",
    ]
    if data["bad_example"]:
        parts += ["**Example.**", "", "```python", data["bad_example"].rstrip("\n"), "```", ""]
    if data["good_example"]:
        parts += ["**Use instead.**", "", "```python", data["good_example"].rstrip("\n"), "```", ""]
    parts += [f"**Fix.** {data['fix']}", "", f"**Autofix.** {_FIX_WORDS[rule.fix_applicability]}", ""]
    if data["saving_scope"]:
        parts += [f"**What it can save.** {data['saving_scope']}", ""]
    if data["evidence"]:
        anchor = f"evidence.md#{rule.code.lower()}"  # every figure's source and how it was obtained
        parts += [f"**Evidence** (sources: [docs/{anchor}]({anchor})).", ""]
        parts += [f"- {e['claim']} — {e['source']} [{e['confidence']}]" for e in data["evidence"]]
        parts.append("")
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
