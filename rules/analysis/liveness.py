"""Dead code in scripts: a top-level function that nothing calls does not run.

An inference notebook that kept its old `train()` cell, or a script whose `train()` was replaced
by `finetune()`, is not a training run, and reporting its loops (fp32, `.item()` per step ...)
cries wolf. The project index says whether any module of the project imports this one
(`ProjectContext.not_imported`); only then, and only for a script (a notebook, a main guard, or
a call at module level), is a top-level function dead when no live code names it.

Conservative on purpose: any mention of a function's name in live code (a call, a callback
`fire.Fire(train)`, a dict of commands) keeps it alive; so does any decorator (`@app.command`,
`@hydra.main`) and any dynamic lookup (`globals()`, `getattr`, `eval`, `exec`, an argument-less
`fire.Fire()`), which makes every function live. Methods follow their class; nested functions
follow the function around them.
"""

from __future__ import annotations

import libcst as cst

from greenlint.rules.analysis.facts import ModuleFacts
from greenlint.rules.analysis.tree import walk

_DYNAMIC = frozenset({"globals", "locals", "vars", "getattr", "eval", "exec", "__import__"})


def _is_main_guard(statement: cst.CSTNode) -> bool:
    if not isinstance(statement, cst.If) or not isinstance(statement.test, cst.Comparison):
        return False
    left = statement.test.left
    return isinstance(left, cst.Name) and left.value == "__name__"


def is_script(module: cst.Module) -> bool:
    """A main guard, or a call made at module level (`main()`, `trainer.fit(...)`)."""
    for statement in module.body:
        if _is_main_guard(statement):
            return True
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                value = getattr(small, "value", None)
                if isinstance(small, (cst.Expr, cst.Assign, cst.AugAssign, cst.AnnAssign)) and isinstance(value, cst.Call):
                    return True
    return False


def _names_in(node: cst.CSTNode) -> set[str]:
    names: set[str] = set()
    for sub in walk(node):
        if isinstance(sub, cst.Name):
            names.add(sub.value)
        elif isinstance(sub, cst.Attribute):
            names.add(sub.attr.value)  # `self.train()`, `module.train`
    return names


def dead_functions(module: cst.Module, facts: ModuleFacts) -> set[int]:
    """ids of the FunctionDef nodes (top-level ones and everything nested in them) that no live
    code of this script can reach. Empty for a module that is not a script."""
    if not (facts.context.notebook or is_script(module)):
        return set()
    top: dict[str, list[cst.FunctionDef]] = {}
    live_names: set[str] = set()
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            top.setdefault(statement.name.value, []).append(statement)
            if statement.decorators:
                live_names.add(statement.name.value)
            live_names |= {n for d in statement.decorators for n in _names_in(d)}
        else:
            live_names |= _names_in(statement)
    if not top or live_names & _DYNAMIC or _calls_fire_without_component(facts):
        return set()
    # names reachable from live code, through the bodies of the functions they name
    frontier = [name for name in live_names if name in top]
    reached = set(frontier)
    while frontier:
        name = frontier.pop()
        for definition in top[name]:
            for mentioned in _names_in(definition.body):
                if mentioned in _DYNAMIC:
                    return set()
                if mentioned in top and mentioned not in reached:
                    reached.add(mentioned)
                    frontier.append(mentioned)
    dead: set[int] = set()
    for name, definitions in top.items():
        if name in reached:
            continue
        for definition in definitions:
            dead |= {id(sub) for sub in walk(definition) if isinstance(sub, cst.FunctionDef)}
    return dead


def _calls_fire_without_component(facts: ModuleFacts) -> bool:
    """`fire.Fire()` exposes every function of the module on the command line."""
    return any(site.qualname == "fire.Fire" and not site.node.args for site in facts.calls)
