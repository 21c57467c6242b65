"""GL403's fix sets `cudnn.benchmark` where it runs once: never inside a function that runs every
epoch, but at the top of the `__main__` block, after the imports, or before the epoch loop."""

from __future__ import annotations

import textwrap

from greenlint.engine import LintRequest
from greenlint.fixer import fix_request

ONLY = frozenset({"GL403"})
FLAG = "torch.backends.cudnn.benchmark = True"


def fixed(source: str) -> str:
    text = textwrap.dedent(source).lstrip("\n")
    outcome = fix_request(LintRequest(None, "train.py", text.encode(), ONLY), unsafe=True)  # type: ignore[arg-type]
    assert outcome.fixed_text is not None, "GL403 proposed no fix"
    compile(outcome.fixed_text, "train.py", "exec")
    again = fix_request(LintRequest(None, "train.py", outcome.fixed_text.encode(), ONLY), unsafe=True)  # type: ignore[arg-type]
    assert again.fixed_text is None, "the fix is not idempotent"
    assert outcome.fixed_text.count("cudnn.benchmark") == 1
    return outcome.fixed_text


# The usual image-classification layout: a per-epoch function, an evaluation, a main().
PER_EPOCH = '''
"""Train a ResNet on STL-10."""
import argparse

import torch
import torchvision
from torchvision import datasets, transforms

TRANSFORM = transforms.Compose([transforms.RandomCrop(96, padding=4), transforms.ToTensor()])


def train_one_epoch(model, loader, optimizer, device):
    model.train()
    for images, targets in loader:
        images, targets = images.to(device), targets.to(device)
        loss = torch.nn.functional.cross_entropy(model(images), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args()
    device = torch.device("cuda")
    data = datasets.STL10("data", split="train", download=True, transform=TRANSFORM)
    loader = torch.utils.data.DataLoader(data, batch_size=128, shuffle=True)
    model = torchvision.models.resnet18(num_classes=10).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(args.epochs):
        train_one_epoch(model, loader, optimizer, device)
'''


def test_per_epoch_function_gets_the_flag_at_the_top_of_main_block():
    after = fixed(PER_EPOCH + '\n\nif __name__ == "__main__":\n    main()\n')
    assert after.endswith(f'if __name__ == "__main__":\n    {FLAG}\n    main()\n')
    train = after[after.index("def train_one_epoch"):after.index("def main")]
    assert "cudnn" not in train


def test_per_epoch_function_without_main_block_gets_the_flag_after_the_imports():
    after = fixed(PER_EPOCH + "\n\nmain()\n")
    assert f"from torchvision import datasets, transforms\n{FLAG}\n\nTRANSFORM = " in after


def test_step_loop_inside_the_epoch_loop_of_a_function_goes_before_the_epoch_loop():
    source = """
        import torch
        import torchvision
        from torchvision import transforms

        def run(loader, epochs):
            tf = transforms.Compose([transforms.Resize((224, 224)), transforms.ToTensor()])
            model = torchvision.models.resnet50().cuda()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            for epoch in range(epochs):
                for x, y in loader:
                    loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
                    loss.backward()
                    opt.step()
    """
    after = fixed(source)
    assert f"    {FLAG}\n    for epoch in range(epochs):\n        for x, y in loader:" in after


def test_torch_imported_only_inside_a_function_gets_a_top_level_import():
    source = '''
        import torchvision
        from torchvision import datasets


        def train_epoch(model, loader, opt):
            import torch
            for x, y in loader:
                loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
                loss.backward()
                opt.step()


        data = datasets.STL10("data", download=True)
        model = torchvision.models.resnet18().cuda()
    '''
    after = fixed(source)
    assert f"from torchvision import datasets\nimport torch\n{FLAG}\n" in after
