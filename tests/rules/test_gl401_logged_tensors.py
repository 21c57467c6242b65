"""GL401 for a GPU tensor handed to TensorBoard's `add_scalar` on every step: the writer turns it into
a number on the host, a sync like `.item()`. Written from the shape of blind36
sweetice/Deep-reinforcement-learning-with-pytorch `Char10 TD3/TD3_BipedalWalker-v2.py:202`
(`self.writer.add_scalar('Loss/Q1_loss', loss_Q1, global_step=...)` after each critic update)."""

from __future__ import annotations

from rule_helpers import findings

TD3_UPDATE = """
    import torch
    import torch.nn.functional as F
    from torch.utils.tensorboard import SummaryWriter

    device = "cuda"
    writer = SummaryWriter()
    critic = Critic().to(device)
    optimizer = torch.optim.Adam(critic.parameters())
    for it in range(100000):
        state, action, target = replay.sample(256)
        loss = F.mse_loss(critic(state.to(device), action.to(device)), target.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        writer.add_scalar("Loss/critic", LOGGED, global_step=it)
"""


def test_gl401_reports_a_tensor_logged_with_add_scalar_on_every_step():
    found = findings(TD3_UPDATE.replace("LOGGED", "loss"), "GL401")
    assert len(found) == 1 and "`add_scalar` of the tensor `loss`" in found[0].message


def test_gl401_add_scalar_of_a_host_number_or_a_read_already_reported_once():
    assert findings(TD3_UPDATE.replace("LOGGED", "0.5"), "GL401") == []
    # `loss.item()` inside is the sync, reported once at the `.item()`
    found = findings(TD3_UPDATE.replace("LOGGED", "loss.item()"), "GL401")
    assert len(found) == 1 and "`loss.item()`" in found[0].message
    # under a logging guard it is not every step
    guarded = TD3_UPDATE.replace('        writer.add_scalar(', '        if it % 100 == 0:\n            writer.add_scalar(')
    assert findings(guarded.replace("LOGGED", "loss"), "GL401") == []
