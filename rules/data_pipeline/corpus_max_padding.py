"""Keras `pad_sequences` padding every text to the longest one of the corpus (GL305's Keras case).

`pad_sequences(seqs)` with no `maxlen`, or with `maxlen=max(len(s) for s in seqs)`, makes every
sample as long as the single longest text: on IMDb reviews that is 1,442 tokens against a typical
review of a couple of hundred (dipanjanS/practical-machine-learning-with-python, blind37), and an
LSTM, a Conv1D or an attention layer computes over every padded position of every sample in every
epoch. A fixed length is what Keras wants, so the advice is not dynamic padding (GL305's transformers
case) but a length that fits typical texts: a high percentile of the lengths.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import assigned_values
from greenlint.rules.analysis.facts import CallSite, ModuleFacts
from greenlint.rules.analysis.literals import argument
from greenlint.rules.analysis.tree import walk


@dataclass(frozen=True)
class CorpusMaxPadding:
    site: CallSite
    how: str  # "no `maxlen` (pads to the longest sequence)" / "`maxlen=max_len`, the longest text (`...`)"


def corpus_max_paddings(analysis: ModuleAnalysis) -> list[CorpusMaxPadding]:
    """The module's `pad_sequences` calls whose length is the corpus's longest sequence."""
    facts = analysis.facts
    found = []
    for site in facts.calls:
        if not (site.qualname or "").endswith(".pad_sequences"):
            continue
        maxlen = argument(site.node, "maxlen", 1)
        if maxlen is None:
            if not any(arg.star for arg in site.node.args):
                found.append(CorpusMaxPadding(site, "no `maxlen`, so it pads to the longest sequence"))
            continue
        longest = _longest_length(maxlen, facts)
        if longest:
            found.append(CorpusMaxPadding(site, f"`maxlen={analysis.module.code_for_node(maxlen)}`, the longest "
                                                f"text of the corpus (`{longest}`)"))
    return found


def _longest_length(node: cst.BaseExpression, facts: ModuleFacts) -> str | None:
    """The source of the one assignment of `node` when it computes the longest length of a list of
    texts (`np.max([len(r) for r in tokenized_train])`, `max(map(len, seqs))`,
    `df.text.str.len().max()`); not the longest class label (GL305's own exception)."""
    if not isinstance(node, cst.Name):
        return None
    values = assigned_values(facts, node.value)
    if len(values) != 1 or not isinstance(values[0], cst.Call):
        return None
    value = values[0]
    func = value.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    if name != "max":
        return None
    source = cst.Module([]).code_for_node(value)
    if len(source) > 70:
        source = source[:67] + "..."
    if isinstance(func, cst.Attribute) and not value.args:
        # `lengths.max()`, `df["text"].str.len().max()`, `df.text.apply(len).max()`
        inner = func.value
        text = cst.Module([]).code_for_node(inner)
        return source if ("len" in text and not _labels(text)) else None
    if not value.args:
        return None
    argument_node = value.args[0].value
    text = cst.Module([]).code_for_node(argument_node)
    uses_len = any(isinstance(n, cst.Name) and n.value == "len" for n in walk(argument_node))
    return source if uses_len and not _labels(text) else None


def _labels(text: str) -> bool:
    lowered = text.lower()
    return "label" in lowered or "class" in lowered
