"""Identity versus the paper's initialisation when attention is inserted into a trained network.

The measurement behind ``attn_lessons.insert``'s ``init="identity"`` (issue 28): for each kind and
each initialisation, on trained SmallCNNs,

* how far the logits move right after the insertion (max |difference| over the test set) and the
  test accuracy then;
* the gradients of one training step (one batch of 64, cross-entropy): the norm of the inserted
  modules' gradient, the smallest norm of any one inserted tensor (0 means a parameter that cannot
  learn; biases the module ignores in training mode, whose gradient is round-off under any
  initialisation, are counted apart), alpha's gradient, and the host network's gradient relative
  to before the insertion;
* the test accuracy after one epoch of fine-tuning everything (AdamW, lr 1e-3; one seed: an
  indication, not a comparison; the chapter runs that experiment with its power), and how far the
  blend's alpha has opened by then.

Two networks: the shipped ``clutter_none`` checkpoint (widths 8, 16, 32; SE and CBAM with
reduction 4, as the shipped attention networks have) and a SmallCNN (widths 16, 32, 64) trained here
for a few seconds on ``channel``. Single-threaded and seeded; about a minute on a laptop CPU.

    PYTHONPATH=. .venv/bin/python scripts/measure_insertion_init.py
"""

from __future__ import annotations

import copy
import time

import torch
from torch import nn

from attn_lessons.checkpoints import load_checkpoint, test_set, train_set
from attn_lessons.data import make_task
from attn_lessons.factory import ALL_ATTENTION_KINDS
from attn_lessons.insert import InsertedAttention, _origin, insert_attention
from attn_lessons.small_cnn import SmallCNN
from attn_lessons.train import evaluate, train_model

INITS = ("default", "identity", 0.0, 1e-5, 1e-3)
KINDS = [k for k in ALL_ATTENTION_KINDS if k != "none"]


def tensors(data):
    return data.tensors[0], data.tensors[1]


def gradient_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """The gradients of one training step, on a copy (train mode updates BatchNorm's statistics)."""
    model = copy.deepcopy(model)
    model.train()
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x), y).backward()
    grads = {n: (p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p))
             for n, p in model.named_parameters()}
    return grads


def host_key(model: nn.Module, key: str) -> str | None:
    """The pre-insertion name of a parameter (None for an inserted one)."""
    return _origin(model, key)


def measure(name: str, trained: nn.Module, train, test, options: dict[str, dict]) -> None:
    x_test, _ = tensors(test)
    x_train, y_train = tensors(train)
    g = torch.Generator().manual_seed(0)
    batch = torch.randperm(len(x_train), generator=g)[:64]
    xb, yb = x_train[batch], y_train[batch]
    with torch.no_grad():
        logits = trained.eval()(x_test)
    base_acc = evaluate(trained, test)["accuracy"]
    base_grads = gradient_step(trained, xb, yb)
    base_norm = torch.sqrt(sum(g.square().sum() for g in base_grads.values()))
    print(f"\n## {name}: test accuracy {base_acc:.3f}, max |logit| {logits.abs().max():.1f}")
    print("| kind | init | max abs change of logits | accuracy after | grad norm, inserted | "
          "smallest tensor grad norm | alpha grad | host grad / before | accuracy after 1 epoch | "
          "mean alpha after 1 epoch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind in KINDS:
        for init in INITS:
            torch.manual_seed(1)
            model = copy.deepcopy(trained)
            insert_attention(model, kind, init=init, **options.get(kind, {}))
            with torch.no_grad():
                change = (model.eval()(x_test) - logits).abs().max().item()
            acc = evaluate(model, test)["accuracy"]
            grads = gradient_step(model, xb, yb)
            inserted = {k: v for k, v in grads.items()
                        if host_key(model, k) is None and not k.endswith("alpha")}
            alphas = [v for k, v in grads.items() if k.endswith(".alpha")]
            host = {host_key(model, k): v for k, v in grads.items()
                    if host_key(model, k) is not None}
            host_norm = torch.sqrt(sum(v.square().sum() for v in host.values()))
            norm = torch.sqrt(sum(v.square().sum() for v in inserted.values()))
            # Biases a module ignores in training mode (before BatchNorm, a key bias under the
            # softmax) get round-off, under any init: left out of the smallest, counted apart.
            largest = max(v.norm().item() for v in inserted.values())
            ignored = [k for k, v in inserted.items()
                       if k.endswith("bias") and v.norm().item() <= 1e-5 * largest]
            smallest = min(v.norm().item() for k, v in inserted.items() if k not in ignored)
            alpha = (f"{torch.stack([a.abs() for a in alphas]).mean():.1e}" if alphas else "-")
            tuned = copy.deepcopy(model)
            result = train_model(tuned, train, test, epochs=1, lr=1e-3, seed=0, progress=False,
                                 device="cpu")
            opened = [m.alpha.item() for m in tuned.modules()
                      if isinstance(m, InsertedAttention) and m.alpha is not None]
            opened_text = f"{sum(opened) / len(opened):.3f}" if opened else "-"
            init_name = init if isinstance(init, str) else f"alpha0={init:g}"
            print(f"| {kind} | {init_name} | {change:.1e} | {acc:.3f} | {norm:.1e} | "
                  f"{smallest:.1e} ({len(ignored)} ignored) | {alpha} | "
                  f"{host_norm / base_norm:.6f} | "
                  f"{result.final_test_accuracy:.3f} | {opened_text} |", flush=True)


def saturated_se(trained: nn.Module, test, train) -> None:
    """The other classic trick: SE's gate bias b2 set high, so sigmoid(b2) is close to 1."""
    x_test, _ = tensors(test)
    x_train, y_train = tensors(train)
    xb, yb = x_train[:64], y_train[:64]
    with torch.no_grad():
        logits = trained.eval()(x_test)
    print("\n## SE with a saturated gate bias (no blend), shipped clutter_none")
    print("| b2 | sigmoid(b2) in float32 | max abs change of logits | grad norm, SE |")
    print("|---|---|---|---|")
    for b2 in (4.0, 8.0, 12.0, 16.0, 17.0, 20.0):
        torch.manual_seed(1)
        model = copy.deepcopy(trained)
        insert_attention(model, "se", init="default", reduction=4)
        for m in model.modules():
            if isinstance(m, InsertedAttention):
                with torch.no_grad():
                    m.attention.fc2.bias.fill_(b2)
        with torch.no_grad():
            change = (model.eval()(x_test) - logits).abs().max().item()
        grads = gradient_step(model, xb, yb)
        norm = torch.sqrt(sum(v.square().sum() for k, v in grads.items() if ".se." in k))
        s = torch.sigmoid(torch.tensor(b2))
        print(f"| {b2:g} | {s.item():.9f} | {change:.1e} | {norm:.1e} |")


def main() -> None:
    import sys
    torch.set_num_threads(1)
    if "--quick" in sys.argv:
        measure("shipped clutter_none (widths 8, 16, 32)", load_checkpoint("none"), train_set(),
                test_set(), {"se": {"reduction": 4}, "cbam": {"reduction": 4}})
        return
    start = time.perf_counter()
    shipped = load_checkpoint("none")
    reduction4 = {"se": {"reduction": 4}, "cbam": {"reduction": 4}}
    measure("shipped clutter_none (widths 8, 16, 32)", shipped, train_set(), test_set(),
            reduction4)
    saturated_se(shipped, test_set(), train_set())
    torch.manual_seed(0)
    net = SmallCNN(4, 2, widths=(16, 32, 64))
    train = make_task("channel", n=2048, size=16, seed=0)
    test = make_task("channel", n=1000, size=16, seed=1)
    trained_for = train_model(net, train, test, epochs=6, seed=0, progress=False, device="cpu")
    measure(f"SmallCNN (16, 32, 64) trained {trained_for.seconds:.0f} s on channel", net, train,
            test, {})
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
