"""GL302's second pattern: a comprehension that calls a tokenizer once per string,
`[tokenizer(text, ...) for text in strings]`, where one call on the whole list would let the fast
(Rust) tokenizer encode the batch in parallel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import ENCODE_METHODS, TokenizerFacts
from greenlint.rules.analysis.literals import positional_args
from greenlint.rules.analysis.tree import walk


@dataclass(frozen=True)
class PerStringCall:
    comprehension: cst.BaseExpression  # the ListComp / GeneratorExp
    call: cst.Call  # the tokenizer call inside it
    target: str  # the comprehension's loop variable, passed as the text
    tokenizer: str | None  # the tokenizer's name when it is a plain name (`tokenizer`)


def per_string_calls(analysis: ModuleAnalysis, tokenizers: TokenizerFacts) -> Iterator[PerStringCall]:
    """`[tokenizer(text, ...) for text in texts]` and the generator form: the element is a direct
    tokenizer call (`tokenizer(...)`, `tokenizer.encode(...)`) whose first positional argument is the
    comprehension's own single loop variable. Pairs (`for a, b in ...`), nested `for`s and
    `apply_chat_template` (a conversation per item, not a string) are left alone."""
    if not any(tokenizers.is_tokenizer_call(site) for site in analysis.facts.calls):
        return  # no tokenizer call anywhere: no walk
    for node in walk(analysis.module):
        if not isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            continue
        element = node.elt
        comp = node.for_in
        if comp.inner_for_in is not None or not isinstance(comp.target, cst.Name) or not isinstance(element, cst.Call):
            continue
        func = element.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("apply_chat_template", "tokenize"):
            continue  # a conversation per item; `.tokenize` has no batch form
        method = isinstance(func, cst.Attribute) and func.attr.value in ENCODE_METHODS
        root = func.value if method else func  # `tokenizer.encode(...)`: the tokenizer is the receiver
        if not (isinstance(root, cst.Name) or _self_attribute(root)):
            continue  # `scorer._tokenizer(...)`: some other library's helper, not a HF tokenizer object
        if not tokenizers.encodes(element):
            continue
        positional = positional_args(element)
        if not positional or not isinstance(positional[0].value, cst.Name) or positional[0].value.value != comp.target.value:
            continue
        name = root.value if isinstance(root, cst.Name) else None
        yield PerStringCall(node, element, comp.target.value, name)


def _self_attribute(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"
