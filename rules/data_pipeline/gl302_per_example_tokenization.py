"""GL302: a Hugging Face `Dataset.map` that tokenizes one example at a time."""

from __future__ import annotations

from typing import Iterable

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.alternatives import later_alternatives
from greenlint.rules.analysis.data_pipeline_facts import (
    BATCHED_FAST_TOKENIZER,
    TRL_BATCHED,
    TokenizerFacts,
    assigned_values,
    calls_in,
    chain_root,
    in_test_code,
    module_trains,
    tokenizer_facts,
)
from greenlint.rules.analysis.facts import CallSite, FunctionInfo, ModuleFacts
from greenlint.rules.analysis.literals import argument, has_double_star, keyword_arg, literal_value, positional_args
from greenlint.rules.base import Report, Rule, RuleFix
from greenlint.rules.data_pipeline.impacts import GL302_IMPACT
from greenlint.rules.data_pipeline.per_string_tokenization import per_string_calls
from greenlint.rules.fixes import set_keyword

# Tokenizer arguments whose meaning changes between one example and a batch of them.
_BATCH_SENSITIVE = frozenset({"return_tensors", "return_overflowing_tokens", "stride"})


def uses_hf_datasets(facts: ModuleFacts) -> bool:
    return any(q == "datasets" or q.startswith("datasets.") for q in facts.imports.bindings.values())


def _not_a_hf_dataset(site: CallSite, facts: ModuleFacts) -> bool:
    """`df["text"].map(...)`, `tf_ds.map(...)`: pandas, tf.data and friends are not HF datasets."""
    root = chain_root(site.node.func)
    values: list[cst.BaseExpression] = [root]
    if isinstance(root, cst.Name):
        values += assigned_values(facts, root.value)[:4]
    for value in values:
        inner = chain_root(value)
        qualname = facts.imports.resolve(inner.func if isinstance(inner, cst.Call) else inner) or ""
        if qualname.split(".", 1)[0] in ("pandas", "tensorflow", "numpy", "polars", "torchdata", "dask", "ray"):
            return True
    return False


# Tokenizers written in Python (torchtext's `basic_english`, spaCy, NLTK, a regex): batching the map
# does not reach a Rust batch encoder, so `batched=True` saves little of their time.
_PYTHON_TOKENIZER_LIBRARIES = ("torchtext", "spacy", "nltk", "jieba", "sacremoses", "re")


def _python_tokenizer(name: str, facts: ModuleFacts) -> bool:
    """Every value assigned to `name` comes from a Python tokenizer library:
    `tokenizer = torchtext.data.utils.get_tokenizer("basic_english")`, `nlp = spacy.load(...)`."""
    values = assigned_values(facts, name)
    if not values:
        return False
    for value in values:
        root = chain_root(value)
        func = root.func if isinstance(root, cst.Call) else root
        qualname = facts.imports.resolve(func) or ""
        if qualname.split(".", 1)[0] not in _PYTHON_TOKENIZER_LIBRARIES:
            return False
    return True


def _tokenizer_values(call: cst.Call, fn: cst.BaseExpression, tokenizers: TokenizerFacts) -> list[str]:
    """Module names of the tokenizers the map hands its function: `fn_kwargs={"tokenizer": tok}`,
    `partial(f, tokenizer=tok)`, or the names its function's calls use."""
    names: list[str] = []
    holders = [call] + ([fn] if isinstance(fn, cst.Call) else [])
    for holder in holders:
        for arg in holder.args:
            if arg.keyword is not None and isinstance(arg.value, cst.Name) and tokenizers.is_tokenizer_expr(arg.value):
                names.append(arg.value.value)
    fn_kwargs = keyword_arg(call, "fn_kwargs")
    if fn_kwargs is not None and isinstance(fn_kwargs.value, cst.Dict):
        for element in fn_kwargs.value.elements:
            value = element.value
            if isinstance(element, cst.DictElement) and isinstance(value, cst.Name) and tokenizers.is_tokenizer_expr(value):
                names.append(value.value)
    return names


def _functions_named(facts: ModuleFacts, func: cst.BaseExpression, class_name: str | None) -> list[FunctionInfo]:
    if isinstance(func, cst.Name):
        if func.value in facts.imports.bindings:
            return []
        return [f for f in facts.functions.get(func.value, []) if f.class_name is None]
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
        return [f for f in facts.functions.get(func.attr.value, []) if f.class_name == class_name]
    return []


def _tokenizing_function(
    fn: cst.BaseExpression,
    site: CallSite,
    facts: ModuleFacts,
    tokenizers: TokenizerFacts,
    bound: frozenset[str] = frozenset(),
) -> tuple[bool, cst.Call | None, str | None]:
    """(does the mapped function tokenize, the tokenizer call if the function is nothing but
    `return tokenizer(param["column"], ...)`, the parameter's name). `bound`: parameters that
    receive a tokenizer through `functools.partial(...)` or `fn_kwargs=`."""
    if isinstance(fn, cst.Lambda):
        tokenizes = any(tokenizers.encodes(call, bound) for call in calls_in(fn.body))
        params = fn.params.params
        if isinstance(fn.body, cst.Call) and len(params) == 1:
            return tokenizes, fn.body, params[0].name.value
        return tokenizes, None, None
    if isinstance(fn, cst.Call) and site.imports.resolve(fn.func) == "functools.partial" and fn.args:
        inner = _tokenizer_keywords(fn, tokenizers)
        return _tokenizing_function(fn.args[0].value, site, facts, tokenizers, bound | inner)
    for function in _functions_named(facts, fn, site.class_name)[:1]:
        tokenizes = any(tokenizers.encodes(inner.node, bound) for inner in function.calls) or any(
            tokenizers.is_tokenizer_call(deeper)
            for inner in function.calls
            for called in facts.local_functions_called(inner)
            for deeper in called.calls
        )
        return tokenizes, *_single_return(function.node)
    return False, None, None


def _tokenizer_keywords(call: cst.Call, tokenizers: TokenizerFacts) -> frozenset[str]:
    """Keyword names that pass a tokenizer: `partial(f, tok=tokenizer)`, `fn_kwargs={"tok": tokenizer}`."""
    names = {arg.keyword.value for arg in call.args if arg.keyword is not None and tokenizers.is_tokenizer_expr(arg.value)}
    fn_kwargs = keyword_arg(call, "fn_kwargs")
    if fn_kwargs is not None and isinstance(fn_kwargs.value, cst.Dict):
        for element in fn_kwargs.value.elements:
            if isinstance(element, cst.DictElement) and tokenizers.is_tokenizer_expr(element.value):
                key = literal_value(element.key)
                if isinstance(key, str):
                    names.add(key)
    return frozenset(names)


def _single_return(node: cst.FunctionDef) -> tuple[cst.Call | None, str | None]:
    params = node.params.params
    if not isinstance(node.body, cst.IndentedBlock) or not params:
        return None, None
    statements = list(node.body.body)
    if statements and _is_docstring(statements[0]):
        statements = statements[1:]
    if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine):
        return None, None
    small = statements[0].body
    if len(small) != 1 or not isinstance(small[0], cst.Return) or not isinstance(small[0].value, cst.Call):
        return None, None
    return small[0].value, params[0].name.value


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _passes_columns_straight(call: cst.Call, param: str, tokenizers: TokenizerFacts) -> bool:
    """`tokenizer(examples["text"], truncation=True)`: batched semantics are the same."""
    if not tokenizers.is_tokenizer_expr(call.func):
        return False  # `.encode(...)` returns ids, not columns
    positional = positional_args(call)
    if not positional or any(arg.star for arg in call.args):
        return False
    for arg in call.args:
        value = arg.value
        if arg.keyword is not None and arg.keyword.value in _BATCH_SENSITIVE:
            return False
        if _is_column(value, param):
            continue
        if arg.keyword is None:
            return False
        if any(isinstance(node, cst.Name) and node.value == param for node in _names(value)):
            return False
    return True


def _is_column(node: cst.BaseExpression, param: str) -> bool:
    if not (isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name) and node.value.value == param):
        return False
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return False
    return isinstance(literal_value(node.slice[0].slice.value), str)


def _names(node: cst.CSTNode) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []
    stack = [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(current.children)
    return found


class PerExampleTokenization(Rule):
    code = "GL302"
    name = "per-example-tokenization"
    summary = "`Dataset.map` runs a tokenizer one example at a time (no `batched=True`)"
    detects = """
        A Hugging Face `datasets` `.map(fn)` (in a module that imports `datasets`) whose function, a
        lambda, a module function, a method or a `functools.partial` of one, calls a tokenizer, while
        `batched` is absent or literally `False`. A `batched` that is not a literal is the user's choice and
        is not reported; `.map` on pandas, tf.data or NumPy objects is not a `datasets` map. Silent for a
        Python tokenizer (torchtext's `basic_english`, spaCy, NLTK: no batch encoder to gain from), for a
        second copy of the same map in an `else`/`elif` branch (only one branch runs), and in a notebook
        that neither trains nor saves the mapped data (a one-off look at it). Also a comprehension that
        calls a tokenizer once per string, `[tokenizer(text, ...) for text in texts]`, where one call on
        the list would encode the batch.
    """
    why = """
        Unbatched, `map` calls the function and the tokenizer once per example: Python overhead per row
        and no use of the fast (Rust) tokenizer's parallel batch encoding. Batched, the same work takes a
        fraction of the CPU time, and the GPU waits less for it.
    """
    bad_example = """
        from datasets import load_dataset
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
        raw = load_dataset("imdb")

        def tokenize(example):
            return tokenizer(example["text"], truncation=True)

        train = raw.map(tokenize)
    """
    good_example = """
        from datasets import load_dataset
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
        raw = load_dataset("imdb")

        def tokenize(examples):
            return tokenizer(examples["text"], truncation=True)

        train = raw.map(tokenize, batched=True)
    """
    fix = """
        Pass `batched=True` (and `num_proc=` for large sets) and write the function for a batch: it
        receives lists of values per column. The automatic fix adds `batched=True` only when the function
        does nothing but pass columns straight to the tokenizer (`return tokenizer(ex["text"], ...)`), where
        the batched result is the same; it is marked unsafe because a column holding lists would be read
        differently.
    """
    fix_applicability = "unsafe"
    evidence = (BATCHED_FAST_TOKENIZER, TRL_BATCHED)
    saving_scope = "the CPU time of the tokenisation step (about 5.5x less in the HF course's measurement)"
    impact = GL302_IMPACT
    trigger = ((".map(", " for "), ("okeniz",))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        tokenizers = tokenizer_facts(analysis)
        yield from _comprehensions(analysis, tokenizers)
        if not uses_hf_datasets(facts) or _notebook_analysis(analysis):
            return
        reports = list(self._maps(analysis, tokenizers))
        dropped = later_alternatives(analysis.module, [report.node for report in reports])
        yield from (report for report in reports if id(report.node) not in dropped)

    def _maps(self, analysis: ModuleAnalysis, tokenizers: TokenizerFacts) -> Iterable[Report]:
        facts = analysis.facts
        for site in facts.calls:
            if site.attr != "map" or not site.is_method_call or in_test_code(site):
                continue
            call = site.node
            if has_double_star(call) or len(positional_args(call)) > 3:
                continue
            batched = keyword_arg(call, "batched")
            if batched is not None and literal_value(batched.value) is not False:
                continue
            fn = argument(call, "function", 0)
            if fn is None or _not_a_hf_dataset(site, facts):
                continue
            bound = _tokenizer_keywords(call, tokenizers)
            tokenizes, tokenizer_call, param = _tokenizing_function(fn, site, facts, tokenizers, bound)
            if not tokenizes:
                continue
            passed = _tokenizer_values(call, fn, tokenizers)
            used = [tokenizer_call.func.value] if tokenizer_call is not None and isinstance(tokenizer_call.func, cst.Name) else []
            names = passed or used
            if names and all(_python_tokenizer(name, facts) for name in names):
                continue  # a Python tokenizer (torchtext, spaCy, NLTK): no batch encoder for `batched=True` to use
            fix = None
            if tokenizer_call is not None and param is not None and _passes_columns_straight(tokenizer_call, param, tokenizers):
                fix = RuleFix("pass batched=True", "unsafe", set_keyword(call, "batched", cst.Name("True")))
            receiver = analysis.module.code_for_node(site.node.func.value)  # type: ignore[union-attr]
            receiver = receiver if len(receiver) <= 30 else "dataset"
            yield Report(
                call,
                f"`{receiver}.map(...)` tokenizes one example at a time: pass `batched=True` so the fast "
                "tokenizer encodes whole batches (10.8 s instead of 59.2 s in the Hugging Face course's "
                "measurement)",
                fix=fix,
            )


# Calls that keep a mapped dataset beyond the process: without one, a notebook that also trains
# nothing tokenizes for a one-off look at the data (lengths, examples), not for a pipeline.
_KEEPS = frozenset({"save_to_disk", "push_to_hub", "to_parquet", "to_json", "to_csv", "save", "dump"})


def _notebook_analysis(analysis: ModuleAnalysis) -> bool:
    if not analysis.facts.context.notebook or module_trains(analysis):
        return False
    return not any(site.attr in _KEEPS for site in analysis.facts.calls)


def _comprehensions(analysis: ModuleAnalysis, tokenizers: TokenizerFacts) -> Iterable[Report]:
    facts = analysis.facts
    for found in per_string_calls(analysis, tokenizers):
        if found.tokenizer is not None and _python_tokenizer(found.tokenizer, facts):
            continue
        code = analysis.module.code_for_node(found.call.func)
        yield Report(
            found.call,
            f"`{code}(...)` is called once per string in this comprehension: pass the whole list in one call "
            f"(`{code}(texts, ...)`) so the fast tokenizer encodes it as a batch (10.8 s instead of 59.2 s in the "
            "Hugging Face course's measurement); with `return_tensors`, pad per batch or drop it and index the lists",
        )


RULE = PerExampleTokenization()
