"""GL202: a generative LLM used to pick one of a few labels (classification by generation)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.literals import argument, literal_value, string_value
from greenlint.rules.analysis.model_choice_facts import (
    checkpoint_size,
    literal_string_list,
    model_loads,
    resolve_checkpoint,
    string_literals,
)
from greenlint.rules.analysis.precision_facts import is_test_module
from greenlint.rules.base import Evidence, Report, Rule
from greenlint.rules.impact import RuleImpact, WasteSize

_GENERATION_TASKS = frozenset({"text-generation", "text2text-generation"})
_CAUSAL = re.compile(r"ForCausalLM$|LMHeadModel$|AutoModelWithLMHead$")
_SEQ2SEQ = re.compile(r"ForConditionalGeneration$|ForSeq2SeqLM$")
_LOCAL_LLM_CALLS = {
    "vllm.LLM": "vLLM",
    "llama_cpp.Llama": "llama.cpp",
    "ollama.generate": "Ollama",
    "ollama.chat": "Ollama",
    "ollama.Client": "Ollama",
}
# A prompt that asks for a classification ...
_CLASSIFY = re.compile(
    r"\b(classify|classification|categori[sz]e|categorization|sentiment|label (?:it|this|the)|which (?:category|label|class))\b",
    re.IGNORECASE,
)
# ... and closes the answer set.
_CLOSED = re.compile(
    r"\b(positive|negative|neutral)\b[^.\n]{0,40}\b(positive|negative|neutral)\b|"
    r"\byes or no\b|\btrue or false\b|\bone of\b|\bonly (?:the|one|a single)\b|\b(?:single|one) word\b|"
    r"\banswer (?:with|only)\b|\brespond (?:with|only)\b|\boutput only\b|\breturn only\b",
    re.IGNORECASE,
)
_LABEL_NAMES = re.compile(r"label|class|categor|sentiment", re.IGNORECASE)


def _generators(analysis: ModuleAnalysis) -> list[tuple[CallSite, str]]:
    """Loads of a generative model that is not a known small checkpoint, with a display name."""
    found: list[tuple[CallSite, str]] = []
    calls_generate = any(site.attr in ("generate", "chat") and site.is_method_call for site in analysis.facts.calls)
    for site in analysis.facts.calls:
        qualname = site.qualname
        if qualname == "transformers.pipeline":
            task = string_value(argument(site.node, "task", 0))
            if task not in _GENERATION_TASKS:
                continue
            checkpoint = resolve_checkpoint(analysis, argument(site.node, "model", 1))
            if _acceptable(checkpoint, seq2seq=task == "text2text-generation"):
                found.append((site, f'`pipeline("{task}"{_model_suffix(checkpoint)})`'))
        elif qualname in _LOCAL_LLM_CALLS and (qualname.startswith("ollama.") or calls_generate):
            found.append((site, f"a {_LOCAL_LLM_CALLS[qualname]} LLM"))
    if calls_generate:
        for load in model_loads(analysis):
            name = load.receiver.rsplit(".", 1)[-1]
            seq2seq = bool(_SEQ2SEQ.search(name))
            if not (seq2seq or _CAUSAL.search(name)):
                continue
            checkpoint = load.checkpoint or resolve_checkpoint(
                analysis, argument(load.site.node, "pretrained_model_name_or_path", 0)
            )
            if _acceptable(checkpoint, seq2seq=seq2seq):
                found.append((load.site, f"`{name}`{_model_suffix(checkpoint, True)}"))
    return found


def _acceptable(checkpoint: str | None, seq2seq: bool) -> bool:
    """Causal LMs count unless known small; seq2seq models (the T5 text-to-text style) only when
    known large, since a small one generating a label costs about what a classifier costs."""
    size = checkpoint_size(checkpoint) if checkpoint else None
    return size == "large" if seq2seq else size != "small"


def _model_suffix(checkpoint: str | None, paren: bool = False) -> str:
    if not checkpoint:
        return ""
    return f' ("{checkpoint}")' if paren else f', model="{checkpoint}"'


def _short_generation(analysis: ModuleAnalysis) -> bool:
    for site in analysis.facts.calls:
        value = literal_value(argument(site.node, "max_new_tokens"))
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 10:
            return True
    return False


def _label_set(analysis: ModuleAnalysis) -> list[str] | None:
    """A literal list of 2-10 one-word strings assigned to a `labels`/`classes`-like name."""
    for name, value in analysis.facts.assignments:
        if not _LABEL_NAMES.search(name):
            continue
        strings = literal_string_list(value)
        if strings and 2 <= len(strings) <= 10 and all(0 < len(s) <= 24 and " " not in s.strip() for s in strings):
            return strings
    return None


def _closed_label_prompt(analysis: ModuleAnalysis) -> str | None:
    for text in string_literals(analysis.module):
        if len(text) > 4000:
            continue
        if _CLASSIFY.search(text) and _CLOSED.search(text):
            snippet = " ".join(text.split())
            return snippet if len(snippet) <= 60 else snippet[:57] + "..."
    return None


class GenerativeLlmForClosedLabelTask(Rule):
    code = "GL202"
    name = "generative-llm-for-closed-label-task"
    summary = "A generative LLM is prompted to pick one of a few labels, a task a small classifier does"
    detects = """
        A module that loads a generative language model — `pipeline("text-generation")`, a
        `*ForCausalLM` / `*ForConditionalGeneration` model with `.generate()`, vLLM, llama.cpp or Ollama
        — AND shows that the output is one of a few labels: a prompt that asks to classify (classify,
        sentiment, which category ...) and closes the answer set ("positive or negative", "yes or no",
        "one of", "answer with one word" ...), or a literal list of 2-10 one-word labels together with
        `max_new_tokens` of 10 or less. Known small checkpoints (gpt2, distil*, *-small, *-base) are
        not reported; nor are small seq2seq models (T5/BART-base style text-to-text classification).
    """
    why = """
        Each generated label costs a forward pass of a billion-parameter decoder over the whole
        prompt, repeated for every record. A fine-tuned encoder classifier (DistilBERT, a
        sentence-embedding model with logistic regression), a zero-shot NLI model, or a classic TF-IDF
        + linear model does the same closed-label task with orders of magnitude less compute per
        prediction.
    """
    bad_example = """
        from transformers import pipeline

        generator = pipeline("text-generation", model="meta-llama/Llama-3.1-8B-Instruct")
        for review in reviews:
            prompt = f"Classify the sentiment of this review. Answer with one word, positive or negative: {review}"
            label = generator(prompt, max_new_tokens=3)[0]["generated_text"]
    """
    good_example = """
        from transformers import pipeline

        classifier = pipeline("text-classification", model="distilbert-base-uncased-finetuned-sst-2-english")
        labels = [result["label"] for result in classifier(reviews, batch_size=64)]
    """
    fix = """
        Use a task model: a fine-tuned encoder (`pipeline("text-classification", model=...)`, e.g.
        distilbert-base-uncased-finetuned-sst-2-english for sentiment), a zero-shot NLI model
        (`pipeline("zero-shot-classification")`) when there are no training labels, or embeddings plus
        logistic regression. If the LLM labels are needed to bootstrap, label a sample once and train
        a small classifier on it.
    """
    fix_applicability = None
    evidence = (
        Evidence(
            "multi-purpose generative models cost orders of magnitude more energy per 1,000 inferences than "
            "task-specific fine-tuned models on the same task (88 models, A100-80GB)",
            "Luccioni, Jernite, Strubell, 'Power Hungry Processing: Watts Driving the Cost of AI Deployment?', FAccT 2024",
            "paper",
        ),
        Evidence(
            "DistilBERT has 40 % fewer parameters than BERT-base, runs 60 % faster and keeps 97 % of its language-understanding score",
            "Sanh et al., 'DistilBERT, a distilled version of BERT' (2019)",
            "paper",
        ),
    )
    saving_scope = "the inference (and any fine-tuning) compute of the labelling job: orders of magnitude per prediction (published, A100)"
    impact = RuleImpact(
        size=WasteSize(
            0.90,
            0.99,
            "multi-purpose generative models cost 'orders of magnitude' more energy per 1,000 inferences than "
            "task-specific models on the same task (Luccioni et al., FAccT 2024, A100); one to two orders of "
            "magnitude read as 90-99 %",
        ),
        frequency="run-wide",
    )
    trigger = (
        ("pipeline(", "from_pretrained", "LLM(", "ollama", "Llama("),
        ("text-generation", "text2text-generation", ".generate(", "vllm", "llama_cpp", "ollama"),
        (
            "lassif", "ategori", "entiment", "abel it", "abel this", "abel the", "hich category", "hich label",
            "hich class", "max_new_tokens",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        generators = _generators(analysis)
        if not generators or is_test_module(analysis):
            return
        prompt = _closed_label_prompt(analysis)
        if prompt is not None:
            why = f'the prompt asks for one of a few labels ("{prompt}")'
        else:
            labels = _label_set(analysis)
            if labels is None or not _short_generation(analysis):
                return
            why = f"it generates at most a few tokens to pick one of {len(labels)} labels ({', '.join(labels[:5])})"
        site, display = generators[0]  # one finding per module: the first generative model
        yield Report(
            site.node,
            f"{display} is used as a classifier: {why}; a fine-tuned encoder, a zero-shot NLI model or "
            "a linear model does this closed-label task with orders of magnitude less energy per "
            "prediction (Luccioni et al., FAccT 2024)",
        )


RULE = GenerativeLlmForClosedLabelTask()
