"""The static impact each GL3xx rule declares (rules/impact.py), derived from its cited evidence.

Sizes are shares of the energy of the code a finding affects, read off the figures in
docs/evidence.md (the arithmetic is written next to each one). A rule whose evidence has no
number for the size of its saving declares `None`: its findings keep an unknown impact rather
than an invented one.
"""

from __future__ import annotations

from greenlint.rules.impact import RuleImpact, WasteSize

# GL301: the one figure is an anecdote (file loads were 12 % of a ~1000 s epoch in
# lnccbrown/LANfactory PR #120); the rest of its evidence is arithmetic. The 12 % is already a share
# of every epoch, so of the run ("run-wide"); 0 is the lower end: a small file loaded again costs next
# to nothing.
GL301_IMPACT = RuleImpact(
    WasteSize(0.0, 0.12, "repeated file loads were 12 % of an epoch in one project (docs/evidence.md#gl301)"),
    "run-wide",
)

# GL302: HF course, fast tokenizer, 59.2 s unbatched -> 10.8 s batched: 1 - 10.8/59.2 = 82 % of the
# tokenisation's energy; TRL maintainers' 3-5x: 67-80 %. Dataset.map runs once per run (its result is
# cached).
GL302_IMPACT = RuleImpact(
    WasteSize(
        0.67,
        0.82,
        "batched fast tokenisation took 10.8 s instead of 59.2 s (HF course) and 3-5x less (huggingface/trl "
        "PR #1624) of the tokenisation step (docs/evidence.md#gl302)",
    ),
    "once",
)

# GL303: the evidence sizes batching and the repetition per epoch, but not the tokenisation's share of a
# training step, which is what a per-step size would need.
GL303_IMPACT = None

# GL304: HF course, slow tokenizer 4 min 41 s batched (281 s) and 5 min 3 s unbatched (303 s) against the
# fast one's 10.8 s batched and 59.2 s unbatched: 1 - 59.2/303 = 80 % to 1 - 10.8/281 = 96 %.
GL304_IMPACT = RuleImpact(
    WasteSize(
        0.80,
        0.96,
        "the slow tokenizer took 4 min 41 s batched / 5 min 3 s unbatched where the fast one took 10.8 s / "
        "59.2 s (HF course, docs/evidence.md#gl304)",
    ),
    "once",
)

# GL305: CamemBERT-base on X-NLI, dynamic padding with length bucketing: 56 -> 16 min (71 %) at max
# length 128, 4 h 38 -> 1 h 01 (78 %) at max length 493, for the whole training.
GL305_IMPACT = RuleImpact(
    WasteSize(
        0.71,
        0.78,
        "dynamic padding and length bucketing cut CamemBERT's training time by 71-78 % (Lefebvre Sarrut blog, "
        "docs/evidence.md#gl305)",
    ),
    "run-wide",
)

# GL306: one measured input-bound workload (ResNet-18, CPU decode per sample): 25.7 -> 5.2 J per step,
# 80 % of the step's GPU energy. That is the upper end: the share shrinks as the step outlasts the
# loading, and no figure bounds it from below.
GL306_IMPACT = RuleImpact(
    WasteSize(
        0.0,
        0.80,
        "num_workers=0 -> 8 cut GPU energy per step by up to 80 % on an input-bound ResNet-18 (greenlint's H100 "
        "measurement, docs/evidence.md#h100-input-pipeline); less when the step outlasts the loading",
    ),
    "every-step",
)

# GL307: no source gives the size of pinning's saving (docs/evidence.md#gl307 says so).
GL307_IMPACT = None

# GL308: delta-interpolator PR #3, persistent workers (with pin_memory): 3.5 h -> 2.7 h on Windows (23 %
# of the run), no difference on Linux (0 %).
GL308_IMPACT = RuleImpact(
    WasteSize(
        0.0,
        0.23,
        "persistent workers took a run from 3.5 h to 2.7 h on Windows and changed nothing on Linux "
        "(delta-interpolator PR #3, docs/evidence.md#gl308)",
    ),
    "run-wide",
)

# GL309, GL310, GL311: their evidence is unquantified (a copy's cost depends on its size; the tf.data
# guide's benchmark is artificial).
GL309_IMPACT = None
GL310_IMPACT = None
GL311_IMPACT = None
# GL312: the tf.data guide and Dataset.cache docs give no figure for a real workload.
GL312_IMPACT = None

# GL313: the evidence says the frozen base is "by far the most expensive part" (Chollet) and the
# repeated share is (N - 1) / N of its passes, but no measured share of a run: no size yet.
GL313_IMPACT = None
# GL314: the conversion's own cost is measured (23.5 ms against 0.06 ms for 32 Atari frames, docs/
# evidence.md#cpu-tensor-from-arrays), but its share of a run depends on the update's own time: no size.
GL314_IMPACT = None
# GL315: the rebuilt iterator's cost is measured (80.6 ms against 1.92 ms with 4 workers, docs/evidence.md#
# cpu-loader-iterator); its share of a run depends on the step's own time and how often: no size.
GL315_IMPACT = None
