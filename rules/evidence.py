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

# ---- GL413-GL416, GL207 (issue 14): docs/evidence.md, section "newtorch" ----------------------
COMPILE_PT2_BENCHMARK = Evidence(
    "torch.compile worked on 93 % of 163 open-source models and trained them 43 % faster on average on an "
    "A100: 21 % faster in float32, 51 % faster with AMP",
    "PyTorch 2.0 'Get Started' page (pytorch.org/get-started/pytorch-2.0), benchmark of 163 models",
    "doc",
)
COMPILE_WARMUP = Evidence(
    "the first training step compiles the forward and backward passes and is 'significantly slower' than the "
    "steps after it; speed-ups on a desktop GPU (RTX 3090) were lower than on an A100 (no number given)",
    "Hugging Face Transformers docs, 'torch.compile'; PyTorch 2.0 'Get Started' page",
    "doc",
)
SDPA_NANOGPT = Evidence(
    "nanoGPT on an A100: replacing its hand-written attention with scaled_dot_product_attention (flash kernel) "
    "cut training time per batch from about 143 ms to about 113 ms",
    "PyTorch blog, 'Accelerating Large Language Models with Accelerated Transformers' (Pasqualin et al., 2023)",
    "doc",
)
FLASH_ATTENTION_PAPER = Evidence(
    "FlashAttention trained BERT-large (sequence 512) 15 % faster than the MLPerf 1.1 record and GPT-2 "
    "(sequence 1K) 3x faster than the baseline implementations",
    "Dao et al., 'FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness', NeurIPS 2022 (abstract)",
    "paper",
)
HF_OUTPUT_ATTENTIONS_EAGER = Evidence(
    "SDPA does not support `output_attentions=True`: Transformers models then fall back to eager attention",
    "Hugging Face Transformers model code (the SDPA fallback warning in modeling_llama.py and others)",
    "doc",
)
FAQ_ACCUMULATE_HISTORY = Evidence(
    "'Don't accumulate history across your training loop': `total_loss += loss` keeps the autograd history of "
    "every step alive; accumulate `float(loss)` or a detached value (no number given)",
    "PyTorch FAQ, 'My model reports cuda runtime error(2): out of memory'",
    "doc",
)
ACCUMULATED_GRAPH_CHECK = Evidence(
    "after `backward()` the step's saved activations are freed even though the loss is kept; the graph's nodes "
    "stay alive (11 for a two-layer MLP, every step), so host memory grows with the steps; a loss kept before "
    "`backward()` (or one never backpropagated) keeps its activations too",
    "greenlint's own check on CPU with torch 2.13 (docs/evidence.md#gl414)",
    "unquantified",
)
EMPTY_CACHE_HF_DOC = Evidence(
    "emptying the CUDA cache every few steps lowers peak memory 'at a cost of about 10% slower performance'",
    "Hugging Face TrainingArguments docs, `torch_empty_cache_steps` (citing transformers issue #31372)",
    "doc",
)
EMPTY_CACHE_PEFT = Evidence(
    "MetaMathQA fine-tuning, 250 steps: empty_cache every 10 steps instead of every step 65 s -> 50 s; never, 45 s",
    "huggingface/peft PR #2894",
    "issue",
)
GC_COLLECT_PEFT = Evidence(
    "same run: removing a per-step gc.collect() cut 108 s to 65 s with the same peak memory",
    "huggingface/peft PR #2894",
    "issue",
)
DDP_UNUSED_DOCS = Evidence(
    "with find_unused_parameters=True DDP traverses the autograd graph from the outputs after every forward "
    "pass; this adds overhead, so set it only when necessary (no number given)",
    "PyTorch DistributedDataParallel documentation and its design note (notes/ddp)",
    "doc",
)
DDP_UNUSED_WARNING = Evidence(
    "when it finds no unused parameter, PyTorch warns that the flag 'results in an extra traversal of the "
    "autograd graph every iteration, which can adversely affect performance'",
    "PyTorch DDP reducer warning (torch/csrc/distributed/c10d/reducer.cpp)",
    "doc",
)
