"""GL304: a Hugging Face tokenizer loaded slow: `use_fast=False`, or a slow tokenizer class such as
`LlamaTokenizer` whose `...TokenizerFast` twin (what `AutoTokenizer` returns) exists."""

from __future__ import annotations

from typing import Iterable

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import SLOW_TOKENIZER, in_test_code, module_trains
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.literals import keyword_arg, literal_value
from greenlint.rules.base import Report, Rule, RuleFix
from greenlint.rules.data_pipeline.impacts import GL304_IMPACT
from greenlint.rules.fixes import set_keyword

_PIPELINES = frozenset({"transformers.pipeline", "transformers.pipelines.pipeline"})

# Slow (Python / SentencePiece) tokenizer classes of `transformers` that have a `<Name>Fast` twin,
# which `AutoTokenizer.from_pretrained` loads by default. Classes without a fast twin (Marian, CTRL,
# FSMT, ...) are not listed: for them the slow class is the only choice.
SLOW_WITH_FAST = frozenset(
    {
        "AlbertTokenizer", "BartTokenizer", "BertTokenizer", "BigBirdTokenizer", "BlenderbotTokenizer",
        "CamembertTokenizer", "CLIPTokenizer", "CodeLlamaTokenizer", "ConvBertTokenizer", "DebertaTokenizer",
        "DebertaV2Tokenizer", "DistilBertTokenizer", "ElectraTokenizer", "FunnelTokenizer", "GemmaTokenizer",
        "GPT2Tokenizer", "LayoutLMTokenizer", "LEDTokenizer", "LlamaTokenizer", "LongformerTokenizer",
        "MBartTokenizer", "MobileBertTokenizer", "MPNetTokenizer", "MT5Tokenizer", "OpenAIGPTTokenizer",
        "PegasusTokenizer", "Qwen2Tokenizer", "ReformerTokenizer", "RobertaTokenizer", "SqueezeBertTokenizer",
        "T5Tokenizer", "WhisperTokenizer", "XLMRobertaTokenizer", "XLNetTokenizer",
    }
)


def _loads_tokenizer(site: CallSite) -> bool:
    qualname = site.qualname
    if qualname is None:
        return False
    if qualname in _PIPELINES:
        return True
    head, _, last = qualname.rpartition(".")
    return last == "from_pretrained" and head.startswith("transformers.") and "Tokenizer" in head.rsplit(".", 1)[-1]


def slow_class(site: CallSite) -> str | None:
    """`LlamaTokenizer` for `transformers.LlamaTokenizer.from_pretrained(...)`: a slow class with a fast twin."""
    head, _, last = (site.qualname or "").rpartition(".")
    name = head.rsplit(".", 1)[-1]
    if last == "from_pretrained" and head.startswith("transformers.") and name in SLOW_WITH_FAST:
        return name
    return None


class SlowTokenizer(Rule):
    code = "GL304"
    name = "slow-tokenizer"
    summary = "Tokenizer loaded slow (`use_fast=False`, `LlamaTokenizer`): the pure-Python tokenizer instead of the Rust one"
    detects = """
        `AutoTokenizer.from_pretrained(..., use_fast=False)` (or any `transformers` `*Tokenizer*` class's
        `from_pretrained`, or `transformers.pipeline(...)`) with the literal `False`. A `use_fast` that is
        computed (`use_fast=not args.use_slow_tokenizer`) is the user's choice and is not reported. Also
        `from_pretrained` of a slow tokenizer class that has a fast twin (`BertTokenizer`,
        `LlamaTokenizer`, `GPT2Tokenizer`, `T5Tokenizer`, ...: the `...TokenizerFast` class that
        `AutoTokenizer` would load) in a module that trains; classes without a fast twin, and export or
        generation scripts (a few prompts), are not reported.
    """
    why = """
        The "slow" tokenizers are pure Python and encode one string at a time; the fast ones are
        written in Rust and encode batches in parallel. On the same data the slow tokenizer took minutes
        where the fast one took seconds, CPU time that is spent again every time the data is tokenized.
    """
    bad_example = """
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased", use_fast=False)
    """
    good_example = """
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
    """
    fix = """
        Drop `use_fast=False` (the fast tokenizer is the default) or pass `use_fast=True`. Check once
        that the token ids match on a sample: a few models' fast tokenizers differ in edge cases (legacy
        SentencePiece handling, added tokens), and some checkpoints ship only a slow one.
    """
    fix_applicability = "unsafe"
    evidence = (SLOW_TOKENIZER,)
    saving_scope = "the CPU time of tokenisation (minutes -> seconds in the HF course's measurement)"
    impact = GL304_IMPACT
    # the keyword alone, whatever the spacing around `=` (`use_fast= False`); the check reads the call
    trigger = (("use_fast", "Tokenizer.from_pretrained"),)

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        trains: bool | None = None
        for site in analysis.facts.calls:
            if not _loads_tokenizer(site) or in_test_code(site):
                continue
            arg = keyword_arg(site.node, "use_fast")
            if arg is None or literal_value(arg.value) is not False:
                name = slow_class(site)
                if name is not None and trains is None:
                    trains = module_trains(analysis)
                # a slow class only where the module trains: an export or a few generation prompts
                # tokenize too little for the class to matter
                if name is not None and trains:
                    yield Report(
                        site.node.func,
                        f"`{name}` is the slow (pure-Python) tokenizer class; `{name}Fast` (what "
                        "`AutoTokenizer.from_pretrained` loads) is written in Rust and encoded the HF course's dataset "
                        "in 10.8 s where the slow one took 4 min 41 s: load the fast class unless its token ids "
                        "differ for this checkpoint",
                    )
                continue
            yield Report(
                arg,
                "`use_fast=False` loads the pure-Python tokenizer; the Rust (fast) tokenizer encoded the HF "
                "course's dataset in 10.8 s where the slow one took 4 min 41 s: drop `use_fast=False` unless "
                "this model has no working fast tokenizer",
                fix=RuleFix("use the fast tokenizer", "unsafe", set_keyword(site.node, "use_fast", cst.Name("True"))),
            )


RULE = SlowTokenizer()
