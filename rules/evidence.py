"""Savings evidence shared by several rules, each with its source and how it was obtained."""

from greenlint.rules.base import Evidence
from greenlint.rules.impact import WasteSize

GPU_MEASUREMENTS = "greenlint's own H100 measurements (docs/evidence.md#h100-precision), one run each, about ±5 % noise"

H100_BF16_GPT = Evidence(
    "GPT-style 125M model, batch 16x512, AdamW: strict fp32 -> bf16 autocast cut GPU energy per step "
    "from 137.5 J to 24.9 J (82 %); from TF32 to bf16, 48.5 J -> 24.9 J (49 %)",
    GPU_MEASUREMENTS,
    "measured",
)
H100_BF16_RESNET = Evidence(
    "ResNet-50, batch 64 at 224x224, SGD: fp32 -> bf16 autocast cut GPU energy per step from 43.8 J to 13.1 J (70 %)",
    GPU_MEASUREMENTS,
    "measured",
)
H100_BF16_WHOLE_SCRIPT = Evidence(
    "whole script, GPT-style 8 layers, 200 steps: 9,333 J -> 3,088 J of GPU energy (3.0x less) with bf16 autocast",
    GPU_MEASUREMENTS,
    "measured",
)
AMP_V100 = Evidence(
    "torch.cuda.amp trained 1.5x-5.5x faster than fp32 at the same accuracy on NVIDIA reference networks (8x V100)",
    "PyTorch blog, 'Introducing native PyTorch AMP' (Huang, Tekur, Carilli, 2020)",
    "doc",
)
AMP_SMALL_MODELS = Evidence(
    "counter-evidence: a small workload ran slower under autocast at batch 8-32 on an A100 (0.49x-0.87x)",
    "huggingface/transformers issue #15026",
    "issue",
)
HF_FP16_BERT_LARGE = Evidence(
    "bert-large-uncased fine-tuning with the HF Trainer, batch 4, sequence 512, V100-16GB: 57.82 s -> 27.46 s with fp16=True (2.1x)",
    "Hugging Face Transformers docs, 'Efficient training on a single GPU' (measured tables of the v4.2x docs)",
    "doc",
)

# ---- fixexp (issue 14): waste sizes of the GL5xx/GL6xx rules, from their cited evidence ----------
# How the impact sizes below are derived from each rule's evidence (docs/evidence.md, "## fixexp").
PANDAS_ROW_LOOP_SIZE = WasteSize(
    0.78,
    0.99,
    "100k-row CPU benchmark (blog gist datlife/21b48fa0): a vectorised version took 0.029 s against 0.13 s for "
    "itertuples (78 % of the loop's time is waste) and 4.68 s for iterrows (99 %)",
)
EARLY_STOPPING_SIZE = WasteSize(
    0.0,
    0.565,
    "Reguero et al. 2024: early stopping together with layer freezing and quantization saved 56.5 % of training "
    "energy on CNNs over 12 vision datasets; early stopping alone is not separated, so the range starts at 0",
)
PER_STEP_LOGGING_SIZE = WasteSize(
    0.01,
    0.04,
    "a per-step loss.item() cost 2 % more GPU energy per step (greenlint's H100 measurement, GPT-style 125M, bf16); "
    "a per-step float(loss) cost 4 % in a micro-benchmark and under 1 % in real training (LANfactory PR #120)",
)
PARALLEL_FITS_SIZE = WasteSize(
    0.0,
    0.77,
    "one CPU example used 4.3x less energy with 16 threads than with 1 (77 % saved; 1.9x, 47 %, after subtracting "
    "30 W idle) (mathr.co.uk energy note, RAPL); on a shared server the idle power is not saved, so the range starts at 0",
)
