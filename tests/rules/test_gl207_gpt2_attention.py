"""GL207 on GPT-2's own attention (session 7, helper nlp): `split_heads(key, k=True)` permutes the key
before `_attn(q, k, v)`, so the product `torch.matmul(q, k)` shows no transpose, and the causal mask
is `w * b - 1e10 * (1 - b)`. Shape written from vincent-163/transformer-arithmetic@a8372dd
model.py (blind2), itself a port of OpenAI's GPT-2 code; not copied."""

from __future__ import annotations

from rule_helpers import findings, silent

GPT2_ATTENTION = """
    import math
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Attention(nn.Module):
        def __init__(self, n_embd, n_ctx, n_head):
            super().__init__()
            self.register_buffer("bias", torch.tril(torch.ones(n_ctx, n_ctx)).view(1, 1, n_ctx, n_ctx))
            self.n_head = n_head
            self.c_attn = nn.Linear(n_embd, n_embd * 3)

        def _attn(self, q, k, v):
            w = torch.matmul(q, k)
            w = w / math.sqrt(v.size(-1))
            nd, ns = w.size(-2), w.size(-1)
            b = self.bias[:, :, ns - nd:ns, :ns]
            w = w * b - 1e10 * (1 - b)
            w = F.softmax(w, dim=-1)
            return torch.matmul(w, v)
"""


def test_gpt2_attention_with_pre_permuted_key_and_subtracted_mask():
    [finding] = findings(GPT2_ATTENTION, "GL207")
    assert finding.location.row == 14  # the q.k product, where the attention starts
    assert "hand-written attention in `_attn`" in finding.message


def test_untransposed_product_needs_query_and_key_names():
    # `torch.matmul(x, w)`: a softmax over an arbitrary product is not attention
    silent("GL207", GPT2_ATTENTION.replace("torch.matmul(q, k)", "torch.matmul(x, w)").replace("(self, q, k, v)", "(self, x, w, v)"))


def test_a_mask_computed_by_a_call_is_not_expressible():
    silent("GL207", GPT2_ATTENTION.replace("w * b - 1e10 * (1 - b)", "w * b - torch.exp(1 - b)"))
