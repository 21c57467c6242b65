"""What one module learns from the rest of its project (see advisor/project_index.py).

The project index runs in the parent process before any rule does. For each file it lints it
hands the worker one `ProjectContext`: the facts of the local modules that file imports, keyed
by the qualified names the file's own import table will produce (`from tools.config import
DEVICE` -> "tools.config.DEVICE"; `import config` then `config.DEVICE` -> "config.DEVICE"). The
rules keep reading one `ModuleAnalysis`; the shared analysis folds these facts in where it
resolves names (devices, precision, autograd switches, star imports, dead code).

Plain data only (no libcst nodes): it crosses into worker processes and its digest is part of
the result cache key, so a change in an imported module re-lints the files that import it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from greenlint.rules.config_data import is_config_path
from greenlint.rules.recorded_run import RecordedRun, ShownDataset


@dataclass(frozen=True)
class ProjectContext:
    # dotted package of the module itself ("" at a search root): resolves `from .x import y`
    package: str = ""
    # module strings (as this module imports them) that are files of the project
    local_modules: frozenset[str] = frozenset()
    # imports a `from local_module import *` re-exports (`torch`, `nn`): name -> qualified name;
    # they join the module's import table
    star_bindings: dict[str, str] = field(default_factory=dict)
    # the star-imported module's own definitions (`device`, `model`): name -> qualified name. Only
    # the facts lookup uses them; to the rules they stay local names, as if defined here
    star_names: dict[str, str] = field(default_factory=dict)
    # qualified name -> phrase, for names bound to a CUDA device in another module
    devices: dict[str, str] = field(default_factory=dict)
    # qualified name -> phrase, for functions/classes whose body runs under autocast / in half precision
    autocast: dict[str, str] = field(default_factory=dict)
    # the functions among them (the rest are classes, such as a model whose forward uses autocast):
    # a function counts only where a training loop calls it, not an evaluate() run under autocast
    autocast_functions: frozenset[str] = frozenset()
    # qualified names of functions that run a training step / hold a training loop: a loop here
    # that calls them trains (the call graph crosses one module line)
    step_functions: frozenset[str] = frozenset()
    loop_functions: frozenset[str] = frozenset()
    # qualified name -> phrase, for decorators / context managers that switch autograd off
    grad_off: dict[str, str] = field(default_factory=dict)
    # qualified name -> literal value of another module's constant (str, int, float, bool, None)
    constants: dict[str, object] = field(default_factory=dict)
    # no module of the project imports this one (always so for a notebook): if it is a script, a
    # top-level function that nothing in it calls is dead code (its loops train nothing)
    not_imported: bool = False
    notebook: bool = False  # a notebook is a script whatever its cells hold
    # words the imported facts stand for, for the rule prefilter ("cuda" when DEVICE is CUDA)
    extra_words: str = ""
    # module-level DataLoaders of this file that another project module trains with on a CUDA
    # device: loader name -> phrase naming that module (advisor/loader_consumers.py)
    loader_consumers: dict[str, str] = field(default_factory=dict)
    # a project file that compiles a model (torch.compile ...), asked only for a file that trains
    # and compiles nothing itself (GL413); "" when none does or nobody asked
    compiled_in: str = ""
    # options the project's shell scripts launch this script with, when every launch agrees:
    # "--epochs" -> ("1000", "train.sh:9") (advisor/launch_scripts.py); the argparse resolution
    # reads them before the defaults
    launch_options: dict[str, tuple[str, str]] = field(default_factory=dict)
    # numeric options every launch passes with different values: the smallest ("--max_train_steps"
    # -> ("10000", "run_b.sh:6, the smallest of 2 launches")); only the long-run detection reads them
    launch_least: dict[str, tuple[str, str]] = field(default_factory=dict)
    # options every launch passes a config file to, when the launches pass different files:
    # "--config" -> (("configs/small.yaml", "README.md:12"), ("configs/large.yaml", "run.sh:3"));
    # a value looked up through the option is read from each file (config_file_values.py)
    launch_configs: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # (phrase, side in pixels): a transform or dataset of an imported project module that gives
    # images one size, used here (advisor/imported_facts.py): fixed-size inputs for GL403
    fixed_size_inputs: tuple[str, int] | None = None
    # qualified name -> phrase, for functions and classes of imported project modules that read,
    # decode or transform an image per call ("yolo3.utils.get_random_data" -> "calls
    # `PIL.Image.open` (yolo3/utils.py)"), and the Python generators among them
    # (advisor/exported_generators.py): a Keras fit over one prepares every batch in one thread (GL306)
    per_item_work: dict[str, str] = field(default_factory=dict)
    batch_generators: frozenset[str] = frozenset()
    # the framework versions the project pins (advisor/pinned_versions.py): "torch" -> ("1.13.1",
    # "`torch==1.13.1` in requirements.txt:3"); "<2.0" for an upper bound. Advice that needs a
    # newer release (torch.compile, Keras jit_compile) is not given
    pinned_versions: dict[str, tuple[str, str]] = field(default_factory=dict)
    # the most processes a launch of this script starts, and how ("`torchrun --nproc_per_node=8` in
    # train.sh:3"), when one starts two or more (advisor/launch_scripts.py): a distributed run,
    # read by the long-run detection
    launch_processes: tuple[int, str] | None = None
    # a project file that imports this file's training function, calls it and names a CUDA device,
    # with no reduced precision in any such caller (advisor/training_callers.py); asked only for a
    # file that trains and names no CUDA device itself (GL101)
    gpu_caller: str = ""
    # a project file that imports and calls this file's training function and sets
    # `cudnn.benchmark` or cuDNN determinism itself (advisor/training_callers.py): the run's cuDNN
    # choice is made there (GL403); asked only for a file that trains and sets neither
    cudnn_caller: str = ""
    # a project script that runs this file's training function on a CNN at a fixed input size and
    # leaves cuDNN alone (advisor/training_callers.py); asked only for a file that trains, builds
    # no CNN and sets no cuDNN choice itself (GL403)
    cnn_caller: str = ""
    # the project's job scripts name only GPUs without tensor cores (a K20X on Blue Waters XK nodes,
    # K80, P100): a phrase naming the script, for a file that trains (advisor/gpu_hints.py); GL101
    gpu_without_tensor_cores: str = ""
    # the project's Markdown says its runs use two or more GPUs ("README.md:40 says `with 4 gpus`",
    # advisor/gpu_hints.py): evidence of several GPUs for DataParallel (GL408) and mixed precision
    stated_gpu_count: str = ""
    # the project file that calls this module's training function builds a large model there:
    # a phrase naming the evidence and the file (advisor/caller_workload.py); GL101
    heavy_caller: str = ""
    # qualified name -> phrase, for dataset classes of imported modules whose `__getitem__` reads a
    # file per item ("dataset.DFUDataset" -> "calls `cv2.imread` (code/dataset.py)")
    file_datasets: dict[str, str] = field(default_factory=dict)
    # qualified name -> the file, for model classes of imported modules that build convolutions
    # ("model.BiSeNet" -> "model.py"): training one trains a CNN (GL403)
    conv_classes: dict[str, str] = field(default_factory=dict)
    # model classes built only of small layers of known width (advisor/model_layers.py): imported ones
    # by qualified name ("models.SRCNN" -> "a small CNN (...) in models.py"), the module's own by name
    small_models: dict[str, str] = field(default_factory=dict)
    # imported model classes whose layers show a compute-heavy model ("models.Cnn14" -> "a CNN of 6
    # convolution layers up to 2048 channels in models.py"; advisor/model_layers.py); GL101's evidence
    heavy_models: dict[str, str] = field(default_factory=dict)
    # qualified name -> phrase, for training functions of imported modules that put their work on a
    # CUDA device themselves ("trainer.train" -> "`train()` trains on a CUDA device (trainer.py)"):
    # a DataLoader passed to one feeds a GPU (GL306)
    gpu_trainers: dict[str, str] = field(default_factory=dict)
    # the parsed command line that project scripts pass to this module's functions or classes
    # (`train(args)` in main.py): parameter -> option dest -> (value, phrase), where every such
    # caller agrees (advisor/caller_arguments.py); asked only for a file that parses no options
    caller_args: dict[str, dict[str, tuple[object, str]]] = field(default_factory=dict)
    # qualified names of imported Lightning-style modules that validate and set up no early
    # stopping in their own module ("main.Model"): a Trainer here that fits one validates (GL502)
    validating_classes: frozenset[str] = frozenset()
    # a project file that imports this module and trains ("`finetune.py` imports it and trains"),
    # asked only for a module that pads text to a fixed length (advisor/training_importers.py): the
    # padded data feeds that training (GL305)
    training_importer: str = ""
    # a notebook's training cells' saved progress (rules/recorded_run.py): how long its last run
    # took, read by the long-run detection; None for a script or a notebook that recorded none
    recorded_run: RecordedRun | None = None
    # the largest dataset a notebook's saved outputs show (rules/recorded_run.py): an epoch count
    # over a few hundred rows is no long run (long-run detection)
    shown_dataset: ShownDataset | None = None

    def is_empty(self) -> bool:
        return self == EMPTY_CONTEXT

    def digest(self) -> str:
        """Stable over runs and processes: part of the cache key of the module's results."""
        data = [
            self.package, sorted(self.local_modules), self.star_bindings, self.star_names, self.devices,
            self.autocast, sorted(self.autocast_functions), sorted(self.step_functions), sorted(self.loop_functions),
            self.grad_off, self.constants, self.not_imported,
            self.notebook, self.extra_words, self.loader_consumers, self.compiled_in, self.launch_options, self.launch_least, self.launch_configs, self.launch_processes, self.gpu_caller, self.file_datasets,
            self.cudnn_caller, self.cnn_caller, self.gpu_without_tensor_cores, self.stated_gpu_count, self.heavy_caller,
            self.gpu_trainers, self.caller_args, sorted(self.validating_classes),
            self.training_importer, self.recorded_run, self.shown_dataset, self.fixed_size_inputs, self.pinned_versions,
            self.per_item_work, sorted(self.batch_generators), self.conv_classes, self.small_models,
            self.heavy_models,
        ]  # every field (tests/test_project_index.py checks): asdict() cost a third of a warm run
        text = json.dumps(data, sort_keys=True, default=repr)
        return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()

    def pinned_below(self, package: str, release: tuple[int, ...]) -> str:
        """Where the project pins `package` to a release older than `release` ("" when it does
        not, or pins nothing): `torch==1.13.1` is below (2, 0), so is `<2.0`."""
        pinned = self.pinned_versions.get(package)
        if pinned is None:
            return ""
        value, where = pinned
        strict = value.startswith("<")
        parts = tuple(int(part) for part in value.lstrip("<").split("."))
        padded = parts + (0,) * max(0, len(release) - len(parts))
        return where if (padded <= release if strict else padded < release) else ""

    def launched_config_paths(self) -> tuple[str, ...]:
        """Every config path the launches pass this script, agreed on or not: the files a value
        read through a launched option may come from (the result cache keys on them)."""
        agreed = (value for value, _ in self.launch_options.values() if is_config_path(value))
        chosen = (value for choices in self.launch_configs.values() for value, _ in choices)
        return tuple(dict.fromkeys((*agreed, *chosen)))

    def names(self) -> frozenset[str]:
        """Every qualified name this context says something about."""
        return frozenset(self.devices) | frozenset(self.autocast) | frozenset(self.grad_off) | frozenset(self.constants)


EMPTY_CONTEXT = ProjectContext()
