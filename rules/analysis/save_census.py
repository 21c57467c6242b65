"""Does a training module save its model, and does that save run with the defaults? (GL503)

`census(analysis)` sorts everything in the module whose name says it may persist state (save,
checkpoint, ckpt, dump, export ...):

- `opaque`: a class, an assignment or anything else the census cannot follow: the module may save,
  and GL503 stays silent as it always did;
- `live`: a call that may run;
- `dead`: a call under an `if` that is false with the configured defaults (rules/analysis/dead_saves).

Image and figure writers (`save_image`, `savefig`, `imwrite`) persist no training state and are not
counted; a helper whose own name says it saves (`def save_checkpoint(...)`) is judged by its call
sites, not by the `torch.save` inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.dead_saves import Guard, describe, guarded_calls, never_true
from greenlint.rules.analysis.experiment_facts import int_value
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.literals import value_source
from greenlint.rules.analysis.names import terminal_name

SAVING_WORDS = ("save", "checkpoint", "ckpt", "dump", "logmodel", "backup", "export", "serialize", "persist")
# Writers of pictures and plots persist no model state; loaders and restorers read a checkpoint
# (`load_checkpoint`, `restore_ckpt`) but write none.
_IMAGE_WRITERS = ("saveimage", "savefig", "imsave", "imwrite", "saveplot", "savegrid", "savegif", "savevideo")
_READERS = ("load", "restore", "resume")


def _norm(name: str) -> str:
    return name.lower().replace("_", "")


def _saving(name: str | None) -> bool:
    if not name:
        return False
    lowered = _norm(name)
    return (
        any(word in lowered for word in SAVING_WORDS)
        and not any(writer in lowered for writer in _IMAGE_WRITERS)
        and not any(reader in lowered for reader in _READERS)
    )


def _writes_images(name: str | None) -> bool:
    return bool(name) and any(writer in _norm(name) for writer in _IMAGE_WRITERS)  # type: ignore[arg-type]


@dataclass
class SaveCensus:
    opaque: bool = False
    live: list[cst.Call] = field(default_factory=list)
    # (call, why it never runs, whether a configured default decides it): `if args.save_model:` with
    # the default False is the user's opt-in; `(epoch + 1) % 10 == 0` in a 3-epoch run is a slip
    dead: list[tuple[cst.Call, str, bool]] = field(default_factory=list)

    @property
    def never_saves(self) -> bool:
        """Nothing in the module can save (no saving name at all, or only dead saves)."""
        return not self.opaque and not self.live

    @property
    def only_dead_saves(self) -> bool:
        return self.never_saves and bool(self.dead)

    @property
    def saves_only_on_request(self) -> bool:
        """Every save waits for a setting the user must change (`--save-model`, `--output_dir`)."""
        return self.only_dead_saves and all(by_default for _, _, by_default in self.dead)


def census(analysis: ModuleAnalysis) -> SaveCensus:
    facts = analysis.facts
    result = SaveCensus()
    helpers = {name for name in facts.functions if _saving(name)}
    helper_nodes = [info.node for name in helpers for info in facts.functions[name]]
    if any(_saving(name) for name in facts.classes):
        result.opaque = True
        return result
    sites = [s for s in facts.calls if _saving(s.attr) and not (s.function is not None and s.function.name in helpers)]
    named = [(t, v) for t, v in facts.assignments if _saving(t.rsplit(".", 1)[-1]) and not _inside(v, helper_nodes)]
    guards = guarded_calls(analysis.module, lambda call: _saving(terminal_name(call.func))) if sites or named else {}
    for _, value in named:
        if isinstance(value, cst.Call) and any(r in _norm(terminal_name(value.func) or "") for r in _READERS):
            continue  # `checkpoint = torch.load(path)` reads one
        if any(never_true(guard) for guard in guards.get(id(value), ())):
            continue  # `checkpoint_paths = [...]` under a guard that is off by default
        result.opaque = True
        return result
    if not sites:
        # a script whose only output is sample images may be a demo whose product is the images
        # (the MNIST GANs): it stays silent as before, unless a model save exists and never runs
        result.opaque = any(_writes_images(s.attr) for s in facts.calls)
        return result
    for site in sites:
        found = _dead_reason(site, guards.get(id(site.node), ()), analysis)
        if found is None:
            result.live.append(site.node)
        else:
            result.dead.append((site.node, *found))
    return result


def _inside(node: cst.CSTNode, containers: list[cst.FunctionDef]) -> bool:
    from greenlint.rules.analysis.tree import walk

    return any(any(inner is node for inner in walk(container)) for container in containers)


def _dead_reason(site: CallSite, guards: tuple[Guard, ...], analysis: ModuleAnalysis) -> tuple[str, bool] | None:
    """Why the call never runs with the defaults (the guard, and where its values come from) and
    whether a configured default decides it, or None when it may run."""
    loop_var, loop_values = _loop_range(site, analysis)
    for guard in guards:
        if never_true(guard, loop_var, loop_values):
            text = describe(guard, analysis.module)
            sources = sorted({s for s in (_source(n) for n in _names(guard.test)) if s})
            by_default = bool(sources)
            if loop_var is not None and loop_values is not None and loop_var in text:
                sources.append(f"the loop runs {len(loop_values)} epochs")
            detail = f" ({'; '.join(sources)})" if sources else ""
            return f"`{text}` is never true{detail}", by_default
    return None


def _loop_range(site: CallSite, analysis: ModuleAnalysis) -> tuple[str | None, range | None]:
    """The variable and values of the innermost `for v in range(...)` loop around the call."""
    loop = site.loop
    if loop is None or not isinstance(loop.node, cst.For) or not isinstance(loop.node.target, cst.Name):
        return None, None
    iterable = loop.node.iter
    if not (isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name) and iterable.func.value == "range"):
        return None, None
    if not 1 <= len(iterable.args) <= 3 or any(a.keyword or a.star for a in iterable.args):
        return None, None
    values = [int_value(a.value, analysis.facts) for a in iterable.args]
    if any(v is None for v in values):
        return None, None
    try:
        return loop.node.target.value, range(*values)  # type: ignore[arg-type]
    except ValueError:
        return None, None


def _names(node: cst.CSTNode) -> list[cst.BaseExpression]:
    if isinstance(node, (cst.Name, cst.Attribute, cst.Subscript)):
        return [node]
    found: list[cst.BaseExpression] = []
    for child in node.children:
        found.extend(_names(child))
    return found


def _source(node: cst.BaseExpression) -> str | None:
    return value_source(node)
