"""How many optimizer steps the whole run takes, from what the script itself says.

The projection needs the run's total step count. This module reads it from the script's source
(parsed with libcst, never imported or run) combined with values recorded in the child at run time
(``run_length_probe.py``): the loops that enclose the optimizer step and how often each runs.

- the loops: from the first optimizer step's call stack (the user's frames, as the probe saw
  them), each frame's line enclosed by loops of its function; without a stack, statically: the
  optimizer ``.step()`` call sites that the rules' training-loop facts find, then the callers of
  the function that holds them. Optimizer steps = the product of the enclosing loops' counts.
- a loop's count: ``range(...)`` (literal, module constant, ``args.epochs``, ``config.num_epochs``,
  arithmetic on those), the length of the DataLoader it iterates (``len()`` at run time), or a
  ``while step < max_iters`` / ``while True: ... if step >= max_iters: break`` counter loop.
- gradient accumulation: the step under ``if (i + 1) % ACCUM == 0`` divides the innermost loop's
  count (floor; ceil when the condition also steps on the last batch). A measured batches-per-step
  ratio (the DataLoader iterator's own counter) checks it, or stands in when no condition is seen.
- HF ``Trainer`` / Lightning ``Trainer``: their step counts when the probe found one on the first
  step's stack; else ``TrainingArguments(max_steps=...)`` / ``Trainer(max_steps=...)`` keywords.

Every number carries where it came from; ``TotalSteps.basis`` says it in one sentence.

This module combines the parts into the total: the expression model (``run_length_expr.py``), the
script's static structure (``run_length_script.py``), the loops around the step and their counts
(``run_length_loops.py``) and their evaluation with the run-time values (``run_length_eval.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from greenlint.profiler.run_length_eval import Evaluator, Known, Runtime, Unknown, iterated_at_loop
from greenlint.profiler.run_length_expr import base_name, format_count
from greenlint.profiler.run_length_loops import LoopCount, LoopPlan, plan_from_stack, static_plan
from greenlint.profiler.run_length_script import ScriptStructure, analyse, read_source


# ---------------------------------------------------------------------------------------- the total


@dataclass
class TotalSteps:
    total_steps: int | None
    basis: str  # where the number came from; or, when unknown, what was tried
    notes: list[str] = field(default_factory=list)


def _plan_total(plan: LoopPlan, structures: dict[str, ScriptStructure], runtime: Runtime,
                tried: list[str]) -> TotalSteps | None:
    if plan.unread:
        # A loop in an unread file would multiply the count: better unknown than too small.
        tried.append(f"the first step's call stack passes through code that could not be parsed "
                     f"({', '.join(plan.unread)})")
        return None
    if not plan.loops:
        file, line = plan.step_site
        tried.append(f"no loop encloses the optimizer step ({base_name(file)}:{line})")
        return None
    terms, total, missing = [], 1.0, []
    innermost = plan.loops[-1]
    notes = [n for lp in plan.loops for n in lp.notes]
    for loop in plan.loops:
        known = Evaluator(structures[loop.file], runtime).loop(loop)
        if isinstance(known, Unknown):
            missing.extend(known.missing)
            continue
        count = int(known.value)
        where = f"`{loop.header}` at {base_name(loop.file)}:{loop.line}"
        detail = "; ".join([where, *known.sources])
        if loop is innermost:
            innermost_count, innermost_detail = count, detail
        else:
            terms.append(f"{format_count(count)} {loop.label} ({detail})")
            total *= count
    if missing:
        tried.append(f"the loops around the optimizer step ({plan.found_by}): "
                     f"{', '.join(f'`{lp.header}`' for lp in plan.loops)}, but not known: {'; '.join(missing)}")
        return None
    per, inner_term = _accumulate(plan, structures, runtime, innermost, innermost_count, innermost_detail, notes)
    if per is None:
        tried.append(inner_term)
        return None
    terms.append(inner_term)
    total *= per
    value = int(total)
    basis = f"total steps {format_count(value)} = " + " x ".join(terms) + f"; loops found from {plan.found_by}"
    return TotalSteps(value, basis, notes + plan.notes)


def _accumulate(plan: LoopPlan, structures: dict[str, ScriptStructure], runtime: Runtime, loop: LoopCount,
                count: int, detail: str, notes: list[str]) -> tuple[int | None, str]:
    """The innermost loop's optimizer steps: its count, divided by gradient accumulation."""
    measured = _measured_ratio(loop, runtime)
    acc = plan.accumulation
    term = f"{format_count(count)} {loop.label} ({detail})"
    calls = plan.step_calls
    if calls and not all(unconditional for _, unconditional in calls):
        notes.append(f"{len(calls)} optimizer step calls in `{loop.header}` ({', '.join(c for c, _ in calls)}), "
                     "some under a condition: the total counts one step per iteration and may be low")
        calls = []
    if acc is None:
        if measured is not None:
            batches, steps = measured
            every = _whole_ratio(batches, steps)
            if every is not None and every >= 2:
                per = count // every
                return per, (f"{format_count(per)} optimizer steps per pass = {term} // {every} (measured: {batches} batches "
                             f"for {steps} optimizer steps since the loop's iter(); no accumulation condition was found)")
            times = _whole_ratio(steps, batches)
            if times is not None and times >= 2 and not calls:
                return count * times, (f"{format_count(count * times)} optimizer steps per pass = {term} x {times} (measured: "
                                       f"{steps} optimizer steps for {batches} batches since the loop's iter())")
        if calls:
            return count * len(calls), (f"{format_count(count * len(calls))} optimizer steps per pass = {term} x {len(calls)} "
                                        f"optimizer step calls per iteration ({', '.join(c for c, _ in calls)})")
        return count, term
    known = Evaluator(structures[acc.file], runtime).evaluate(acc.every, loop.function)
    where = f"gradient accumulation: the step is under `if {acc.condition}`, {base_name(acc.file)}:{acc.line}"
    if isinstance(known, Unknown):
        return None, f"{where}, but not known: {'; '.join(known.missing)}"
    every = int(known.value)
    if every < 1:
        return None, f"{where}, which evaluates to {every}"
    per = math.ceil(count / every) if acc.steps_on_last else count // every
    rounding = "ceil: it also steps on the last batch" if acc.steps_on_last else "floor"
    if measured is not None and _whole_ratio(*measured) != every:
        notes.append(f"measured {measured[0]} batches for {measured[1]} optimizer steps, "
                     f"not the {every} per step that `{acc.condition}` suggests")
    sources = "; ".join([where, *known.sources, rounding])
    return per, f"{format_count(per)} optimizer steps per pass = {term} / {every} ({sources})"


def _measured_ratio(loop: LoopCount, runtime: Runtime) -> tuple[int, int] | None:
    """(batches, optimizer steps) since the latest iter() of the DataLoader the loop iterates: the
    iterator's own batch counter, read by the probe at the end."""
    if loop.kind != "iterable":
        return None
    for record in runtime.loaders:
        if iterated_at_loop(record, loop):
            batches, steps = record.get("batches_since_iter"), record.get("steps_since_iter")
            if isinstance(batches, int) and isinstance(steps, int) and min(batches, steps) >= 1 and max(batches, steps) >= 2:
                return batches, steps
    return None


def _whole_ratio(a: int, b: int) -> int | None:
    """a / b when it is (within 5 %) a whole number, else None."""
    if b <= 0:
        return None
    ratio = a / b
    return round(ratio) if round(ratio) >= 1 and abs(ratio - round(ratio)) <= 0.05 * ratio else None


def _framework_total(runtime: Runtime, tried: list[str]) -> TotalSteps | None:
    for record in runtime.frameworks:
        values = record.get("values", {})
        name = record.get("class", "Trainer")
        if record.get("framework") == "transformers":
            total, done = values.get("state.max_steps"), values.get("state.global_step") or 0
            if isinstance(total, int) and total > 0:
                args = ", ".join(f"{k.split('.', 1)[1]}={values[k]}" for k in
                                 ("args.max_steps", "args.num_train_epochs", "args.gradient_accumulation_steps")
                                 if values.get(k) is not None)
                resumed = f" minus {done} steps done before this run (resumed)" if done else ""
                return TotalSteps(total - done, f"total steps {format_count(total - done)} = the HF {name}'s state.max_steps "
                                  f"({format_count(total)}{resumed}) at run time; training arguments: {args}")
            tried.append(f"the HF {name} on the first step's stack has no max_steps yet")
        elif record.get("framework") == "lightning":
            result = _lightning_total(values, name)
            if isinstance(result, TotalSteps):
                return result
            tried.append(result)
    return None


def _lightning_total(values: dict[str, Any], name: str) -> TotalSteps | str:
    epochs, max_steps = values.get("max_epochs"), values.get("max_steps")
    batches, accumulate = values.get("num_training_batches"), values.get("accumulate_grad_batches") or 1
    done = values.get("global_step") or 0
    settings = (f"max_epochs={epochs}, max_steps={max_steps}, num_training_batches={batches}, "
                f"accumulate_grad_batches={accumulate}")
    if isinstance(batches, int) and isinstance(epochs, int) and epochs >= 0:
        per = math.ceil(batches / accumulate)
        total = per * max(epochs, 1)
        how = f"{format_count(max(epochs, 1))} epochs x ceil({batches} batches / {accumulate})"
        if isinstance(max_steps, int) and max_steps != -1 and max_steps < total:
            total, how = max_steps, f"max_steps, below {how}"
    elif isinstance(max_steps, int) and max_steps != -1:
        total, how = max_steps, "max_steps (epochs or batches unbounded)"
    else:
        return f"the Lightning {name} on the first step's stack ({settings}) runs without a bound"
    resumed = f" minus {done} steps done before this run (resumed)" if done else ""
    return TotalSteps(total - done, f"total steps {format_count(total - done)} = the Lightning {name}'s {how}{resumed}, "
                      f"read at run time ({settings}; Lightning's own estimated_stepping_batches formula)")


def _static_framework_total(structures: dict[str, ScriptStructure], runtime: Runtime,
                            tried: list[str]) -> TotalSteps | None:
    for s in structures.values():
        for call in s.frameworks:
            ev = Evaluator(s, runtime)
            values = {k: ev.evaluate(e, "<module>") for k, e in call.keywords.items()}
            where = f"{call.call} at {base_name(s.file)}:{call.line}"
            steps = values.get("max_steps")
            if isinstance(steps, Known) and steps.value > 0:
                epochs = values.get("max_epochs")
                if (call.framework == "lightning" and "max_epochs" in call.keywords
                        and not (isinstance(epochs, Known) and epochs.value == -1)):
                    tried.append(f"{where} sets max_steps and max_epochs: the smaller bound needs the batches per epoch")
                    continue
                sources = "; ".join(steps.sources)
                return TotalSteps(int(steps.value), f"total steps {format_count(steps.value)} = max_steps of {where}"
                                  + (f" ({sources})" if sources else "") + " (read from the source)")
            given = ", ".join(f"{k}={call.keywords[k].text}" for k in call.keywords) or "no step or epoch bound"
            tried.append(f"{where} ({given}): the batches per epoch are only known once the trainer runs")
    return None


def resolve_total_steps(structures: dict[str, ScriptStructure], runtime: Runtime,
                        main_file: str | None = None) -> TotalSteps:
    """The run's total optimizer steps from the script; `total_steps` is None when not known, and
    `basis` then says what was tried."""
    tried: list[str] = []
    if runtime.frameworks:
        found = _framework_total(runtime, tried)
        if found is not None:
            return found
    plan = None
    if runtime.frames:
        plan = plan_from_stack(structures, runtime.frames)
    elif runtime.seen_first_step:
        tried.append("the first optimizer step was called from library code only (no frame in the script's files)")
    elif main_file in structures:
        plan = static_plan(structures[main_file])
        if plan is None:
            tried.append(f"no optimizer step was found in {base_name(main_file)}")
    if plan is not None and not runtime.frameworks:
        found = _plan_total(plan, structures, runtime, tried)
        if found is not None:
            return found
    found = _static_framework_total(structures, runtime, tried)
    if found is not None:
        return found
    for s in structures.values():
        if s.error:
            tried.append(f"{base_name(s.file)} {s.error}")
    if not structures:
        tried.append("no source file of the script could be read")
    return TotalSteps(None, "; ".join(tried) or "nothing in the script bounds the number of steps")


# -------------------------------------------------------------------------------- the parent's entry


def total_steps_from_run(raw: dict[str, Any] | None) -> TotalSteps:
    """Read the script's files named in the child's result and resolve the total step count."""
    data = (raw or {}).get("run_length") or {}
    runtime = Runtime.of(data)
    files: list[str] = []
    main_file = data.get("main_file")
    for frame in runtime.frames:
        if frame.get("is_main") and main_file is None:
            main_file = frame.get("file")
        files.append(frame.get("file"))
    if main_file:
        files.append(main_file)
    structures: dict[str, ScriptStructure] = {}
    unreadable = []
    for file in dict.fromkeys(f for f in files if f):
        try:
            structures[file] = analyse(read_source(file), file)
        except (OSError, ValueError, SyntaxError, UnicodeDecodeError) as exc:
            unreadable.append(f"{base_name(file)} could not be read ({exc})")
    result = resolve_total_steps(structures, runtime, main_file)
    if result.total_steps is None and unreadable:
        result.basis = "; ".join([result.basis, *unreadable])
    return result


def choose_total_steps(raw: dict[str, Any] | None, user_total: int | None) -> TotalSteps:
    """The projection's total: --total-steps wins; then a run that completed (its own count); then
    what the script says. Empty basis where there is nothing to project (no result, --full)."""
    if user_total is not None:
        return TotalSteps(user_total, "--total-steps")
    if raw is None or (raw.get("config") or {}).get("full"):
        return TotalSteps(None, "")
    seen = int(raw.get("steps_seen") or 0)
    if raw.get("outcome") == "completed" and seen:
        return TotalSteps(seen, f"measured: the run completed after {format_count(seen)} optimizer steps")
    try:
        found = total_steps_from_run(raw)
    except Exception as exc:  # noqa: BLE001 - the profile must not be lost to a reading problem
        return TotalSteps(None, f"reading the script failed ({type(exc).__name__}: {exc})")
    if found.total_steps is not None and found.total_steps < seen:
        return TotalSteps(None, f"{found.basis}; but {format_count(seen)} steps already ran, so that reading is wrong "
                                "and is not used", found.notes)
    return found
