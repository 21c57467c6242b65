"""Does a module's text compile a PyTorch model? Shared by GL413 and the project index, which asks it
of every file of the project (plain text, no parse; no libcst, so the parent process can use it).

Any of these counts, in code or in a comment (a comment that names torch.compile shows the author
has considered it): `torch.compile`, `model.compile()` (nn.Module.compile), `torch._dynamo`,
TorchScript (`torch.jit.script` / `torch.jit.trace`), Hugging Face `torch_compile=True`, a `compile`
flag or option (`--compile`, `compile=True`, `args.compile`, `cfg.compile`), Lightning/Fabric
`compile` settings written the same ways. `re.compile(...)` does not count.
"""

from __future__ import annotations

import re

COMPILE_WORDS = re.compile(
    r"torch\.compile|_dynamo|jit\.(?:script|trace)\b|torch_compile|--compile\b|\bcompile\s*[=:]|"
    r"[\w\]\)]\.compile\(\s*\)|(?:args|cfg|config|opt|flags|hparams|params)\.compile\b|[\"']compile[\"']"
)


def compiles_model(text: str) -> bool:
    """A cheap `in` test first: most files never write "compile"."""
    return "compile" in text and COMPILE_WORDS.search(text) is not None
