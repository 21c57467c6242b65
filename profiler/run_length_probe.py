"""The child side of reading the run's length: values the script's source cannot tell.

The parent (``run_length.py``) finds the training loop's structure in the source; what that
structure depends on at run time is recorded here, without ever changing what the script sees and
without anything per step:

- argparse: ``ArgumentParser.parse_known_args`` (which ``parse_args`` calls) is wrapped; the
  outermost call's namespace is recorded (simple scalars only) with each dest's option string.
  The script gets the very namespace the original returned.
- DataLoaders: ``DataLoader.__iter__`` is wrapped when ``torch.utils.data.dataloader`` is first
  imported (a ``sys.meta_path`` finder, as bootstrap does for the optimizer hook). Once per
  ``iter()`` (an epoch), not per batch: the loader's ``len()`` and the script lines that iterate it.
  ``len()`` is not asked of an IterableDataset's loader (it can raise, and asking changes the
  loader's later length warnings).
- the first optimizer steps: a global step post-hook that removes itself after the first step
  records the call stack's frames in the user's files with their simple local values (so a bound
  such as ``max_iters`` reads as what the script really used, after any config override), and the
  HF ``Trainer`` / Lightning ``Trainer`` on the stack, found by class name and module: neither
  framework is ever imported here.

Everything is best-effort: a failure is a notice in the result, never an exception in the script.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
from collections.abc import Callable
from typing import Any

from greenlint.profiler.import_hooks import after_import

_MAX_LOADER_SITES = 50
_MAX_VALUES_PER_FRAME = 200
_MAX_ATTRS_PER_OBJECT = 64
_MAX_STR = 200
_DATALOADER_MODULE = "torch.utils.data.dataloader"


def _scalar(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= _MAX_STR


def _int_or_none(value: Any) -> int | float | None:
    """A JSON-safe number: ints as they are, finite floats, None for inf/NaN/anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return None


def _class_chain(obj: Any) -> list[tuple[str, str]]:
    try:
        return [(c.__module__ or "", c.__name__) for c in type(obj).__mro__]
    except Exception:  # noqa: BLE001
        return []


def _is_framework_trainer(obj: Any) -> str | None:
    """'transformers' / 'lightning' when obj is (a subclass of) that framework's Trainer."""
    for module, name in _class_chain(obj):
        if name != "Trainer":
            continue
        if module.startswith("transformers."):
            return "transformers"
        if module.startswith(("lightning.", "pytorch_lightning.")):
            return "lightning"
    return None


def _safe_attr(obj: Any, *path: str) -> Any:
    try:
        for name in path:
            obj = getattr(obj, name)
        return obj
    except Exception:  # noqa: BLE001 - a property that fails is simply not known
        return None


class _LoaderSite:
    __slots__ = ("sites", "lengths", "why_unknown", "iters", "iterator", "steps_at_iter", "iter_steps")

    def __init__(self, sites: list[tuple[str, int]]) -> None:
        self.sites = sites
        self.lengths: list[int] = []  # distinct len() seen from this site (one, normally)
        self.why_unknown: str | None = None
        self.iters = 0
        self.iterator: Any = None  # the latest iterator from here, for batches per optimizer step
        self.steps_at_iter = 0
        self.iter_steps: list[int] = []  # optimizer steps done at each iter() (the first few)


class RunLengthProbe:
    """Records what the run-length reading needs; ``result()`` is the JSON for the raw result."""

    def __init__(self, step_count: Callable[[], int], user_file: Callable[[str], str | None],
                 main_file: str | None) -> None:
        self._step_count = step_count
        self._user_file = user_file
        self.main_file = os.path.abspath(main_file) if main_file else None
        self.namespaces: list[dict[str, Any]] = []
        self.loaders: dict[tuple[str, int], _LoaderSite] = {}
        self.first_step: dict[str, Any] | None = None
        self.frameworks: list[dict[str, Any]] = []
        self.notices: list[str] = []
        self._parse_depth = 0
        self._hook_handle: Any = None

    # -- installation ---------------------------------------------------------------------------

    def install(self) -> None:
        try:
            self._wrap_argparse()
        except Exception as exc:  # noqa: BLE001
            self.notices.append(f"argparse values not recorded ({type(exc).__name__}: {exc})")
        after_import(_DATALOADER_MODULE, self._wrap_dataloader)

    def on_optimizer_module(self, optimizer_module: Any) -> None:
        """Called by bootstrap when torch.optim.optimizer is available, before its own step hook."""
        register = getattr(optimizer_module, "register_optimizer_step_post_hook", None)
        if register is not None:
            self._hook_handle = register(self._on_first_step)

    # -- argparse -------------------------------------------------------------------------------

    def _wrap_argparse(self) -> None:
        original = argparse.ArgumentParser.parse_known_args
        probe = self

        @functools.wraps(original)
        def parse_known_args(parser: Any, *args: Any, **kwargs: Any) -> Any:
            probe._parse_depth += 1
            try:
                result = original(parser, *args, **kwargs)
            finally:
                probe._parse_depth -= 1
            if probe._parse_depth == 0:  # subparsers and intermixed parsing call it again inside
                probe._record_namespace(parser, result)
            return result

        argparse.ArgumentParser.parse_known_args = parse_known_args  # type: ignore[method-assign]

    def _record_namespace(self, parser: Any, result: Any) -> None:
        try:
            namespace = result[0] if isinstance(result, tuple) else result
            values = {k: v for k, v in vars(namespace).items() if _scalar(v)}
            options = {}
            for action in getattr(parser, "_actions", ()):
                strings = [s for s in action.option_strings if s.startswith("--")] or list(action.option_strings)
                options[action.dest] = strings[0] if strings else action.dest
            self.namespaces.append({"values": values, "options": options})
        except Exception as exc:  # noqa: BLE001
            self.notices.append(f"an argparse namespace could not be read ({type(exc).__name__})")

    # -- DataLoader ---------------------------------------------------------------------------------

    def _wrap_dataloader(self, module: Any) -> None:
        loader_class = getattr(module, "DataLoader", None)
        if loader_class is None or getattr(loader_class.__iter__, "_greenlint_wrapped", False):
            return
        original = loader_class.__iter__
        probe = self

        @functools.wraps(original)
        def __iter__(loader: Any) -> Any:
            iterator = original(loader)
            try:
                probe._record_iter(loader, iterator)
            except Exception:  # noqa: BLE001 - never break the user's epoch
                pass
            return iterator

        __iter__._greenlint_wrapped = True  # type: ignore[attr-defined]
        loader_class.__iter__ = __iter__

    def _user_sites(self, frame: Any, limit: int = 4) -> list[tuple[str, int]]:
        sites = []
        while frame is not None and len(sites) < limit:
            path = self._user_file(frame.f_code.co_filename)
            if path is not None:
                sites.append((path, frame.f_lineno))
            frame = frame.f_back
        return sites

    def _record_iter(self, loader: Any, iterator: Any) -> None:
        if self.first_step is not None and self._hook_handle is not None:
            handle, self._hook_handle = self._hook_handle, None
            handle.remove()
        frame = sys._getframe(2)  # the caller of DataLoader.__iter__
        sites = self._user_sites(frame)
        del frame
        key = sites[0] if sites else ("", 0)
        site = self.loaders.get(key)
        if site is None:
            if len(self.loaders) >= _MAX_LOADER_SITES:
                return
            site = self.loaders[key] = _LoaderSite(sites)
        site.iters += 1
        site.iterator = iterator
        site.steps_at_iter = self._step_count()
        if len(site.iter_steps) < 8:
            site.iter_steps.append(site.steps_at_iter)
        length, why = _loader_length(loader)
        if length is not None and length not in site.lengths and len(site.lengths) < 4:
            site.lengths.append(length)
        site.why_unknown = site.why_unknown or why

    # -- the first optimizer step -------------------------------------------------------------------

    def _on_first_step(self, optimizer: Any = None, args: Any = None, kwargs: Any = None) -> None:
        # torch iterates its hook dict while calling this, so the hook cannot remove itself here;
        # it is removed at the next DataLoader iter() (an epoch boundary), and until then it
        # returns at this first test.
        if self.first_step is not None:
            return
        try:
            self._snapshot_stack(sys._getframe(1))
        except Exception as exc:  # noqa: BLE001
            self.notices.append(f"the first optimizer step's call stack could not be read ({type(exc).__name__})")

    def _snapshot_stack(self, frame: Any) -> None:
        frames = []
        seen_trainers: set[int] = set()
        while frame is not None:
            code = frame.f_code
            path = self._user_file(code.co_filename)
            if path is not None:
                frames.append(_frame_record(frame, path))
            if "self" in code.co_varnames:
                owner = frame.f_locals.get("self")
                kind = _is_framework_trainer(owner) if owner is not None else None
                if kind is not None and id(owner) not in seen_trainers:
                    seen_trainers.add(id(owner))
                    self.frameworks.append(_trainer_record(kind, owner))
            frame = frame.f_back
        self.first_step = {"frames": frames}

    # -- result -------------------------------------------------------------------------------------

    def epoch_boundary(self) -> tuple[int, int] | None:
        """(steps done at the first epoch's start, steps done at the second's): projection.epoch_boundary
        on what has been recorded so far."""
        from greenlint.profiler.projection import epoch_boundary

        loaders = [{"iter_steps": site.iter_steps} for site in self.loaders.values()]
        return epoch_boundary({"run_length": {"loaders": loaders}})

    def saw_loader(self) -> bool:
        return any(site.iters for site in self.loaders.values())

    def result(self) -> dict[str, Any]:
        loaders = []
        for site in self.loaders.values():
            record: dict[str, Any] = {
                "sites": [[f, ln] for f, ln in site.sites], "lengths": site.lengths, "why_unknown": site.why_unknown,
                "iters": site.iters, "iter_steps": list(site.iter_steps),
            }
            steps = self._step_count() - site.steps_at_iter
            yielded = _safe_attr(site.iterator, "_num_yielded")
            if isinstance(yielded, int) and steps > 0:
                record["batches_since_iter"] = yielded
                record["steps_since_iter"] = steps
            site.iterator = None  # let the loader's workers go
            loaders.append(record)
        return {
            "main_file": self.main_file,
            "argparse": self.namespaces,
            "loaders": loaders,
            "first_step": self.first_step,
            "frameworks": self.frameworks,
            "notices": self.notices,
        }


def _loader_length(loader: Any) -> tuple[int | None, str | None]:
    dataset_module = sys.modules.get("torch.utils.data.dataset")
    iterable = getattr(dataset_module, "IterableDataset", None)
    if iterable is not None and isinstance(getattr(loader, "dataset", None), iterable):
        return None, "IterableDataset (no fixed length)"
    try:
        return int(len(loader)), None
    except Exception as exc:  # noqa: BLE001
        return None, f"len() raised {type(exc).__name__}"


def _object_attrs(value: Any) -> dict[str, Any] | None:
    """Scalar attributes of a plain object (argparse.Namespace, a config dataclass, self)."""
    if isinstance(value, type) or type(value).__name__ in ("module", "function", "builtin_function_or_method"):
        return None
    try:
        attrs = object.__getattribute__(value, "__dict__")
    except Exception:  # noqa: BLE001
        return None
    if not isinstance(attrs, dict) or len(attrs) > 4 * _MAX_ATTRS_PER_OBJECT:
        return None
    found = {}
    for key, item in attrs.items():
        if isinstance(key, str) and not key.startswith("_") and _scalar(item):
            found[key] = item
            if len(found) >= _MAX_ATTRS_PER_OBJECT:
                break
    return found or None


def _sized_length(value: Any) -> int | None:
    if isinstance(value, (list, tuple, range)):
        return len(value)
    dataloader = getattr(sys.modules.get(_DATALOADER_MODULE), "DataLoader", None)
    if dataloader is not None and isinstance(value, dataloader):
        length, _ = _loader_length(value)
        return length
    return None


def _frame_record(frame: Any, path: str) -> dict[str, Any]:
    """A user frame's position and its simple values: scalars, objects' scalar attributes, lengths."""
    code = frame.f_code
    is_module = code.co_name == "<module>"
    names = frame.f_globals if is_module else frame.f_locals
    values: dict[str, Any] = {}
    lengths: dict[str, int] = {}
    for name, value in list(names.items()):
        if len(values) + len(lengths) >= _MAX_VALUES_PER_FRAME:
            break
        if not isinstance(name, str) or name.startswith("__"):
            continue
        if _scalar(value):
            values[name] = value
            continue
        if type(value) is dict:  # a config dict: `config["epochs"]`
            for key, item in list(value.items())[:_MAX_ATTRS_PER_OBJECT]:
                if isinstance(key, str) and _scalar(item):
                    values[f'{name}["{key}"]'] = item
            continue
        length = _sized_length(value)
        if length is not None:
            lengths[name] = length
            continue
        attrs = _object_attrs(value)
        if attrs:
            for key, item in attrs.items():
                values[f"{name}.{key}"] = item
    return {"file": path, "function": code.co_name, "first_line": code.co_firstlineno, "line": frame.f_lineno,
            "is_main": frame.f_globals.get("__name__") == "__main__", "values": values, "lengths": lengths}


def _trainer_record(kind: str, trainer: Any) -> dict[str, Any]:
    """The attributes of a framework Trainer that fix the number of optimizer steps."""
    if kind == "transformers":
        fields = {
            "state.max_steps": ("state", "max_steps"), "state.global_step": ("state", "global_step"),
            "state.num_train_epochs": ("state", "num_train_epochs"), "args.max_steps": ("args", "max_steps"),
            "args.num_train_epochs": ("args", "num_train_epochs"),
            "args.gradient_accumulation_steps": ("args", "gradient_accumulation_steps"),
        }
    else:
        # Plain properties of the fit loop (no data loading); estimated_stepping_batches is left
        # alone because it may set up the dataloader.
        fields = {name: (name,) for name in ("max_epochs", "max_steps", "num_training_batches",
                                             "accumulate_grad_batches", "global_step", "current_epoch")}
    values = {}
    for key, path in fields.items():
        value = _safe_attr(trainer, *path)
        if isinstance(value, float) and math.isinf(value):
            values[key] = "inf"
        else:
            values[key] = _int_or_none(value)
    return {"framework": kind, "class": type(trainer).__name__, "values": values}


def run_length_result(probe: RunLengthProbe | None) -> dict[str, Any] | None:
    """The probe's JSON, or None; never raises (the raw result must still be written)."""
    if probe is None:
        return None
    try:
        return probe.result()
    except Exception as exc:  # noqa: BLE001
        return {"notices": [f"run-length values could not be collected ({type(exc).__name__}: {exc})"]}
