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

# ---- newother (issue 14): GL208, GL312, GL417, GL505, GL605 -----------------------------------------

SVC_PROBABILITY_CV = Evidence(
    "probability=True makes SVC.fit run an internal 5-fold cross-validation (Platt scaling) on top of the fit; "
    "scikit-learn documents that it slows fit down",
    "scikit-learn API documentation of sklearn.svm.SVC (parameter probability) and User Guide 'Scores and probabilities'",
    "doc",
)
SVC_PROBABILITY_ARITHMETIC = Evidence(
    "five extra fits on 4/5 of the data each: 72-80 % of the fit's work is the calibration when fit time grows "
    "linearly to cubically with the samples",
    "arithmetic on the documented 5-fold calibration",
    "unquantified",
)
HYPERBAND_SPEEDUP = Evidence(
    "early stopping of unpromising configurations (Hyperband) gave over an order-of-magnitude speed-up over "
    "Bayesian optimisation on deep-learning and kernel problems",
    "Li et al., 'Hyperband: A Novel Bandit-Based Approach to Hyperparameter Optimization', JMLR 2018 (abstract)",
    "paper",
)
ASHA_SPEEDUP = Evidence(
    "ASHA, aggressive early stopping, reached a high-quality configuration in half the time of Google Vizier "
    "with 500 workers",
    "Li et al., 'A System for Massively Parallel Hyperparameter Tuning', MLSys 2020 (abstract)",
    "paper",
)
OPTUNA_PRUNING_NEEDS_REPORTS = Evidence(
    "create_study uses MedianPruner when no pruner is given, but pruners decide only from the intermediate "
    "values an objective reports with trial.report; an objective that reports nothing is never pruned",
    "Optuna API documentation, optuna.create_study and optuna.pruners",
    "doc",
)
PIPELINE_BATCHING_PR = Evidence(
    "token classification of 1000 examples: one call per example 283 s on CPU and 17.9 s on GPU; batched 122 s and 2.8 s",
    "huggingface/transformers PR #11251 (benchmark in the pull request)",
    "issue",
)
PIPELINE_BATCHING_DOCS = Evidence(
    "counter-evidence: batching a pipeline 'can be either a 10x speedup or 5x slowdown depending on hardware, "
    "data and the actual model'; on CPU or when latency-bound, do not batch",
    "Hugging Face Transformers docs, 'Pipelines: pipeline batching'",
    "doc",
)
BATCHING_GREEN_AI = Evidence(
    "input batching significantly changed the energy and response time of five computer-vision networks at "
    "inference (model dependent)",
    "Yarally et al., 'Batching for Green AI - An Exploratory Study on Inference', SEAA 2023 (abstract)",
    "paper",
)
TF_DATA_CACHE_DOC = Evidence(
    "Dataset.cache keeps elements in memory or a local file after the first epoch, so file opening, reading "
    "and decoding are not repeated each epoch; no real-workload figure is published",
    "TensorFlow guide 'Better performance with the tf.data API' (Caching) and tf.data.Dataset.cache API docs",
    "unquantified",
)
PIXELS_PER_IMAGE = Evidence(
    "a convolutional network's work per image grows with its pixel count: 224x224 is 49x the pixels of 32x32 and "
    "64x those of 28x28 (ResNet-50: 4.09 GFLOPs at 224x224)",
    "arithmetic on input sizes; torchvision model documentation (ResNet50_Weights.IMAGENET1K_V1)",
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

# ---- wlb (issue 14): how long a small run is, for GL502/GL503 -------------------------------------------

SMALL_RUN_MINUTES = Evidence(
    "saved notebook outputs: 20 epochs of small CNNs (LeNet-5, a basic/all-conv CNN) took 1.67-2.66 min on MNIST "
    "and 3.88 min on CIFAR-10; 5 epochs of an MLP autoencoder on MNIST took 0.54 min",
    "rasbt/deeplearning-models, printed 'Training took ... min' / 'Total Training Time' of pytorch-lightning_ipynb/cnn "
    "and pytorch_ipynb/autoencoder notebooks (docs/evidence.md#wlb-small-runs)",
    "unquantified",
)


# ---- session 5 (issue 14): GL418 ------------------------------------------------------------------------
ACCUMULATION_SEMANTICS = Evidence(
    "gradient accumulation zeroes the gradients only after the optimizer step of every k-th micro-batch "
    "(`if (i + 1) % iters_to_accumulate == 0: step; update; zero_grad()`); zeroing them on every micro-batch "
    "discards k-1 of every k backward passes (arithmetic: 7 of 8 with k = 8)",
    "PyTorch docs, 'CUDA Automatic Mixed Precision examples', section 'Gradient accumulation' "
    "(docs/source/notes/amp_examples.rst); arithmetic on the accumulation factor",
    "doc",
)

# ---- xdata (session 6): GL313 ---------------------------------------------------------------------------
FROZEN_FEATURES_DOC = Evidence(
    "running the frozen convolutional base once over the dataset and training the classifier on the recorded "
    "features is 'very fast and cheap', because the base 'is by far the most expensive part of the pipeline'; "
    "running base and head end to end on every epoch is 'far more expensive' and only needed for data augmentation",
    "F. Chollet, Deep Learning with Python (Manning, 1st ed.), section 5.3 'Using a pretrained convnet', "
    "feature extraction",
    "doc",
)
FROZEN_FEATURES_ARITHMETIC = Evidence(
    "with N epochs the frozen base runs N forward passes over each image instead of one: (N - 1) / N of them "
    "recompute identical features (80 % at 5 epochs, 99 % at 100)",
    "arithmetic on the epoch count; a frozen base in inference mode is a deterministic function of its input",
    "unquantified",
)

# ---- gl101gate (session 7): when mixed precision pays (GL101's positive evidence, hardware hint) ----
TENSOR_CORES_VOLTA = Evidence(
    "mixed precision training uses Tensor Cores, introduced with NVIDIA Volta GPUs (Tesla V100, Titan V); NVIDIA's TAO "
    "Toolkit supports AMP only on GPUs with Volta architecture or above",
    "NVIDIA OpenSeq2Seq docs, 'Mixed Precision Training' (prerequisites); NVIDIA TAO Toolkit docs, 'Automatic Mixed "
    "Precision' (docs/evidence.md#gl101-tensor-cores)",
    "doc",
)
AMP_LATENCY_LIMITED = Evidence(
    "DNN operations benchmarked with DeepBench on a Volta GPU ran 2-6x faster than FP32 when limited by memory or "
    "arithmetic bandwidth; speedups are lower when operations are latency-limited",
    "Micikevicius et al., 'Mixed Precision Training', ICLR 2018, as quoted by NVIDIA's OpenSeq2Seq docs "
    "(docs/evidence.md#gl101-tensor-cores)",
    "paper",
)


# ---- session 12 (issue 14): GL419 -----------------------------------------------------------------------
TF_GRAPH_EXECUTION = Evidence(
    "eager TensorFlow runs operations from Python one by one; graph execution with `tf.function` 'tends to offer "
    "better performance', lets Grappler fold constants and prune and fuse the graph, and is the guide's way to "
    "speed up a training loop (no figure for a training step is given)",
    "TensorFlow guide 'Introduction to graphs and tf.function' (docs/evidence.md#gl419)",
    "doc",
)
