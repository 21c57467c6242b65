"""How often a module-level DataLoader is iterated: once, or (possibly) on every epoch (issue 14).

Notebooks build loaders that are iterated a single time: a test pass after training, one batch
for a plot (`for x, y in loader: break`), one pass over a huge batch to compute channel means.
Such a loader costs one pass over its data, negligible next to the training epochs, so GL306 gives
its finding the frequency "once" instead of "every-step".

`single_pass(site, analysis)` answers with a reason when the loader is bound to a plain name at
module level and every later use of that binding, up to the next rebinding of the name, is one
pass outside any loop:

- `for ... in loader` / `for ... in enumerate(loader)` / `next(iter(loader))` not nested in a loop;
- the loader passed to a function of the module that iterates that parameter in loops that are not
  nested in another loop of the function (`evaluate(model, test_loader)` after training).

Anything else (a use inside a loop, a function that is not the module's own, a use in a function
body, a name that is never used) answers None: the caller keeps its default frequency.
"""

from __future__ import annotations

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.loader_use import loader_name
from greenlint.rules.analysis.tree import walk

_LOOPS = (cst.For, cst.While)
# wrappers that keep one pass one pass: `enumerate(loader)`, `iter(loader)`, `tqdm(loader)`
_PASS_THROUGH = {"enumerate", "iter", "tqdm", "zip", "next", "list"}


def _call_name(call: cst.Call) -> str | None:
    func = call.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def _rebinds(statement: cst.CSTNode, name: str) -> bool:
    """A top-level `name = ...` statement (the end of the binding's live range)."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        if isinstance(small, cst.Assign) and any(
            isinstance(target.target, cst.Name) and target.target.value == name for target in small.targets
        ):
            return True
    return False


def _uses(node: cst.CSTNode, name: str) -> list[list[cst.CSTNode]]:
    """The ancestor chains (outermost first, the Name last) of every `name` reference under node."""
    found: list[list[cst.CSTNode]] = []
    stack: list[tuple[cst.CSTNode, list[cst.CSTNode]]] = [(node, [])]
    while stack:
        current, chain = stack.pop()
        path = chain + [current]
        if isinstance(current, cst.Name) and current.value == name:
            found.append(path)
            continue
        if isinstance(current, cst.Attribute):
            # `x.loader` is another object; only the chain's root can be the name
            stack.append((current.value, path))
            continue
        stack.extend((child, path) for child in current.children)
    return found


def _one_pass_use(chain: list[cst.CSTNode], analysis: ModuleAnalysis) -> bool:
    """The use at the end of `chain` (outermost first) iterates the loader at most once."""
    loops = [(i, node) for i, node in enumerate(chain[:-1]) if isinstance(node, _LOOPS)]
    if any(isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) for node in chain[:-1]):
        return False
    # climb through pass-through wrappers (`enumerate(loader)`) to what consumes the loader
    index = len(chain) - 1
    while index >= 2 and isinstance(chain[index - 1], cst.Arg) and isinstance(chain[index - 2], cst.Call) \
            and _call_name(chain[index - 2]) in _PASS_THROUGH:
        index -= 2
    consumer = chain[index - 1] if index >= 1 else None
    call = chain[index - 2] if index >= 2 and isinstance(consumer, cst.Arg) else None
    if isinstance(call, cst.Call) and _call_name(call) == "len":
        return True  # `len(loader)` counts batches, it loads nothing
    if isinstance(consumer, cst.For) and consumer.iter is chain[index]:
        # the loop over the loader itself: one pass when no other loop encloses it
        return all(node is consumer for _, node in loops)
    if loops:
        return False
    if index < len(chain) - 1:
        return True  # `next(iter(loader))`, `list(loader)`: one pass, outside any loop
    if isinstance(call, cst.Call) and isinstance(consumer, cst.Arg):
        if _call_name(call) == "print":
            return True
        return _function_passes_once(call, consumer, analysis)
    return False


def _function_passes_once(call: cst.Call, arg: cst.Arg, analysis: ModuleAnalysis) -> bool:
    """A call of a module function that iterates the parameter the loader binds at most once."""
    name = _call_name(call)
    functions = analysis.facts.functions.get(name or "", [])
    if len(functions) != 1 or not isinstance(call.func, cst.Name):
        return False
    function = functions[0].node
    params = [param.name.value for param in function.params.params]
    if arg.keyword is not None:
        param = arg.keyword.value
    else:
        positional = [a for a in call.args if a.keyword is None]
        position = next(i for i, a in enumerate(positional) if a is arg)
        if position >= len(params):
            return False
        param = params[position]
    uses = _uses(function.body, param)
    if not uses:
        return False
    for chain in uses:
        loops = [node for node in chain[:-1] if isinstance(node, _LOOPS)]
        if len(loops) != 1 or not isinstance(loops[0], cst.For):
            return False
        # the one loop must be the loop over the parameter (possibly through enumerate)
        if not any(loops[0].iter is node for node in chain):
            return False
    return True


def single_pass(site: CallSite, analysis: ModuleAnalysis) -> str | None:
    """Why the module-level loader built by `site` is iterated only once, or None."""
    if site.function is not None or site.loop is not None:
        return None
    name = loader_name(site.node, analysis.facts)
    if name is None or "." in name:
        return None
    body = list(analysis.module.body)
    start = next((i for i, statement in enumerate(body) if any(n is site.node for n in walk(statement))), None)
    if start is None:
        return None
    chains: list[list[cst.CSTNode]] = []
    for statement in body[start + 1:]:
        if _rebinds(statement, name):
            break
        chains.extend(_uses(statement, name))
    if not chains or not all(_one_pass_use(chain, analysis) for chain in chains):
        return None
    return (f"`{name}` is iterated only once (no loop repeats its passes), so its loading is paid once per run, "
            "not on every training step")
