"""GL502's Keras half: a `fit` with validation data and no `EarlyStopping` callback, and its fix.

Split from gl502_no_early_stopping.py (the rule) to keep each module readable: the rule asks
`keras_fit_report` for each Keras fit; the callback reading (`callbacks_without_stopping`) also
serves the rule's Lightning and Hugging Face halves. A fit the notebook's saved log measured is
reported with that measurement (overrun_fits.py), or not at all where the log shows the advice
would have saved nothing.
"""

from __future__ import annotations

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.experiment_facts import configured_source, int_value, keras_epochs, known_callback, list_elements
from greenlint.rules.analysis.facts import CallSite, ModuleFacts
from greenlint.rules.analysis.literals import argument, has_double_star, keyword_arg, literal_value
from greenlint.rules.analysis.training_run_facts import fit_framework, keras_model_weight
from greenlint.rules.base import Report, RuleFix
from greenlint.rules.experiment.overrun_fits import overrun_message, recorded_overrun, recorded_settled
from greenlint.rules.fixes import replace_node, set_keyword

# Every worth-acting-on Keras finding of the development corpus ran 30-100 epochs of a conv,
# recurrent or attention model; the 20-epoch fits were all demonstrations on small data.
KERAS_MIN_EPOCHS = 30


def by_default(source: str | None) -> str:
    return f" by default ({source})" if source else ""


def callbacks_without_stopping(call: cst.Call, facts: ModuleFacts) -> bool:
    """The call's callbacks are all known, and none of them stops early."""
    if has_double_star(call):
        return False
    node = argument(call, "callbacks")
    candidates = [node]
    if isinstance(node, cst.Name) and node.value not in facts.imports.bindings:
        # a notebook rebinds `callbacks = [...]` before each fit: decide on all its values
        candidates = [value for target, value in facts.assignments if target == node.value] or [node]
    return all(_known_without_stopping(candidate, facts) for candidate in candidates)


def _known_without_stopping(node: cst.BaseExpression | None, facts: ModuleFacts) -> bool:
    elements = list_elements(node, facts)
    if elements is None:
        return False
    for element in elements:
        built = [element]
        if isinstance(element, cst.Name) and element.value not in facts.imports.bindings:
            # a script that rebinds `checkpointer = ModelCheckpoint(...)` before each of its fits
            # (stratospark/food-101-keras, blind33 post hoc): every value it is given must be known
            built = [value for target, value in facts.assignments if target == element.value] or built
        for node in built:
            qualname = known_callback(node, facts)
            if qualname is None:
                return False  # built somewhere we cannot see
            if "earlystop" in qualname.lower().replace("_", ""):
                return False
    return True


def keras_fit_report(analysis: ModuleAnalysis, site: CallSite) -> Report | None:
    facts = analysis.facts
    call = site.node
    epochs = int_value(keras_epochs(call), facts)
    overrun = recorded_overrun(analysis, epochs)
    if overrun is not None and fit_framework(site, facts) == "keras" and callbacks_without_stopping(call, facts):
        return Report(call, overrun_message(overrun), fix=_keras_fix(analysis, call))
    if epochs is None or epochs < KERAS_MIN_EPOCHS or recorded_settled(analysis, epochs):
        return None
    # a dense network on vector data runs seconds per epoch: the saved epochs are worth nothing
    # (26 of 30 findings on the development corpus); an sklearn/XGBoost `fit` has no Keras callbacks
    if keras_model_weight(facts) == "light" or fit_framework(site, facts) != "keras":
        return None
    validation_data = argument(call, "validation_data")
    split = literal_value(argument(call, "validation_split"))
    has_validation = (validation_data is not None and literal_value(validation_data) is not None) or (
        isinstance(split, (int, float)) and not isinstance(split, bool) and split > 0
    )
    if not has_validation or not callbacks_without_stopping(call, facts):
        return None
    return Report(
        call,
        f"`fit` runs {epochs} epochs{by_default(configured_source(keras_epochs(call), facts))} with validation data but no `EarlyStopping` callback: every epoch after "
        "the validation loss stops improving is spent for nothing; add "
        '`keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)`',
        fix=_keras_fix(analysis, call),
    )


def _keras_fix(analysis: ModuleAnalysis, call: cst.Call) -> RuleFix | None:
    bindings = analysis.facts.imports.bindings
    prefix = None
    for local, qualified in bindings.items():
        if qualified in ("keras", "tensorflow.keras", "tf_keras"):
            prefix = f"{local}.callbacks"
            break
    if prefix is None:
        for local, qualified in bindings.items():
            if qualified == "tensorflow":
                prefix = f"{local}.keras.callbacks"
                break
    if prefix is None:
        return None
    stopper = cst.parse_expression(f'{prefix}.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)')
    existing = keyword_arg(call, "callbacks")
    if existing is None:
        transform = set_keyword(call, "callbacks", cst.List([cst.Element(stopper)]))
    elif isinstance(existing.value, cst.List) and all(isinstance(e, cst.Element) for e in existing.value.elements):
        target = existing.value

        def make(node: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(node, cst.List)
            elements = list(node.elements)
            if elements:
                last = elements[-1]
                if isinstance(last.comma, cst.Comma):
                    elements.append(cst.Element(stopper, comma=last.comma))
                    elements[-2] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                else:
                    elements[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                    elements.append(cst.Element(stopper))
            else:
                elements.append(cst.Element(stopper))
            return node.with_changes(elements=elements)

        transform = replace_node(target, make)
    else:
        return None
    return RuleFix("add an EarlyStopping callback (monitor val_loss, patience 5, restore best weights)", "unsafe", transform)
