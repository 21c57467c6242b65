"""Savings evidence shared by several rules, each with its source and how it was obtained."""

from greenlint.rules.base import Evidence

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

# Added for issue 14 (helper fixloop): the fused-vs-foreach and no_grad figures behind GL405's and
# GL402's impact (docs/evidence.md#gl405, #gl402 and the "fixloop" section).
TORCH_OPTIM_FOREACH_DEFAULT = Evidence(
    "with neither `foreach` nor `fused` given, torch.optim runs the foreach (multi-tensor) update when all "
    "tensors are on CUDA; fused is 'theoretically fastest' but not the default yet (no number given)",
    "torch.optim docstring, the note under `fused` (PyTorch 2.13)",
    "doc",
)
FUSED_VS_FOREACH_TORCHTITAN = Evidence(
    "fused AdamW against the foreach AdamW: 2.64 % faster on average (1.63-3.62 % over five parallelism "
    "setups), Llama-3 8B",
    "pytorch/torchtitan PR #881",
    "issue",
)
NO_GRAD_THROUGHPUT_EVIT = Evidence(
    "a vision-transformer throughput test ran within 1 % of the same speed with and without torch.no_grad()",
    "youweiliang/evit issue #11 (the maintainer's reply)",
    "issue",
)
