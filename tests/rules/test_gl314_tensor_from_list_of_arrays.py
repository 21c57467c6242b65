"""GL314: a replay batch built with `torch.tensor(list_of_arrays)` on every update. Written from
the shape of blind35 qfettes/DeepRL-Tutorials 01.DQN.ipynb (cell 10: `prep_minibatch` unzips the
sampled transitions and calls `torch.tensor(batch_state, ...)` for 32 frames of 84x84, once per
frame of a million-frame run; `update()` runs the backward pass and calls it)."""

from __future__ import annotations

import pytest
from rule_helpers import findings

AGENT = """
    import torch
    import torch.nn as nn

    class DQN(nn.Module):
        def __init__(self, actions):
            super().__init__()
            self.conv1 = LAYER
            self.fc = nn.Linear(512, actions)

    class Agent:
        def prep_minibatch(self):
            transitions = self.memory.sample(32)
            batch_state, batch_action, batch_reward, batch_next_state = zip(*transitions)
            batch_state = torch.tensor(batch_state, device=self.device, dtype=torch.float)
            batch_action = torch.tensor(batch_action, device=self.device, dtype=torch.long)
            next_states = torch.tensor([s for s in batch_next_state if s is not None], device=self.device)
            return batch_state, batch_action, next_states

        def update(self):
            batch = self.prep_minibatch()
            loss = self.compute_loss(batch)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
"""
CONV = "nn.Conv2d(1, 32, kernel_size=8, stride=4)"


def test_gl314_reports_the_observation_batches_of_every_update():
    found = findings(AGENT.replace("LAYER", CONV), "GL314")
    assert [f.location.row for f in found] == [14, 16]  # the states; the actions are scalars
    assert "`batch_state` (a field of `zip(*...)`)" in found[0].message and "23.5 ms" in found[0].message
    assert "list comprehension over `batch_next_state`" in found[1].message


def test_gl314_silent_for_vector_observations_or_once_per_run():
    # a CartPole MLP: a list of 4-float arrays costs a fraction of a millisecond
    assert findings(AGENT.replace("LAYER", "nn.Linear(4, 512)"), "GL314") == []
    assert findings(AGENT.replace("LAYER", "nn.Linear(4, 512)"), "GL000") == []
    # built once (no update calls it)
    once = AGENT.replace("            batch = self.prep_minibatch()\n", "            batch = self.cached\n")
    assert findings(once.replace("LAYER", CONV), "GL314") == []


@pytest.mark.parametrize("stacked", [
    "torch.from_numpy(np.stack(batch_state))",
    "torch.tensor(np.array(batch_state), dtype=torch.float)",
])
def test_gl314_silent_once_stacked(stacked):
    source = AGENT.replace("LAYER", CONV).replace(
        "torch.tensor(batch_state, device=self.device, dtype=torch.float)", stacked).replace(
        "torch.tensor([s for s in batch_next_state if s is not None], device=self.device)", "None")
    source = source.replace("    import torch\n", "    import numpy as np\n    import torch\n", 1)
    assert findings(source, "GL000") == [] and findings(source, "GL314") == []


def test_gl314_a_comprehension_of_the_transitions_state_field():
    source = AGENT.replace("LAYER", CONV).replace(
        "torch.tensor(batch_state, device=self.device, dtype=torch.float)",
        "torch.FloatTensor([t.state for t in transitions])")
    found = findings(source, "GL314")
    assert any("list comprehension of `.state`" in f.message and "torch.FloatTensor" in f.message for f in found)
