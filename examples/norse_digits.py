"""Train a spiking network in norse on scikit-learn's digits and write it as NIR, for
``snn-export net.nir --dialect norse --target lava``.

Two networks (``--arch``):

- ``dense``: Linear(64, 64) -> LIFCell -> Linear(64, 10) -> LIFCell, trained on the readout's
  spike counts;
- ``cnn``: Conv2d(1, 8, 3, padding=1) -> AvgPool2d(2) -> LIFCell -> Flatten ->
  Linear(128, 10) -> LICell, a leaky-integrator readout trained on its voltage after the
  last step (snn-export's rule for such readouts). norse's own exporter writes no node for
  ``AvgPool2d`` or ``LICell``: ``snn_export.export.norse_to_nir`` adds them.

Biases are carried by always-on synapses, so that they start with the input as in norse
(see the README's "NIR in"); training uses norse's surrogate gradient. Input: each pixel's
level (0..16, 5 bits) divided by 16, presented at every step.

    python examples/norse_digits.py --arch cnn -o norse_cnn.nir
    snn-export norse_cnn.nir --dialect norse --time-steps 16 --target lava --dataset digits \\
        --evaluate 360 --verify 20
"""
from __future__ import annotations

import argparse

import nir
import norse.torch as norse
import torch
from tqdm import tqdm

from snn_export.export.norse_to_nir import to_nir
from snn_export.train import datasets


def dense(hidden: int) -> norse.SequentialState:
    return norse.SequentialState(torch.nn.Linear(64, hidden), norse.LIFCell(),
                                 torch.nn.Linear(hidden, 10), norse.LIFCell())


def cnn(hidden: int) -> norse.SequentialState:
    """``hidden`` channels of 3x3 convolutions, pooled to 4x4, into a leaky integrator."""
    return norse.SequentialState(torch.nn.Conv2d(1, hidden, 3, padding=1),
                                 torch.nn.AvgPool2d(2), norse.LIFCell(), torch.nn.Flatten(),
                                 torch.nn.Linear(hidden * 16, 10), norse.LICell())


ARCHS = {"dense": (dense, 64, (64,)), "cnn": (cnn, 8, (1, 8, 8))}  # builder, width, input


def scores(net, x: torch.Tensor, steps: int) -> torch.Tensor:
    """Per class over ``steps`` steps of the constant input ``x``: the readout's spike
    counts, or a leaky integrator's voltage after the last step."""
    state, total = None, 0
    for _ in range(steps):
        z, state = net(x, state)
        total = total + z
    return z if isinstance(net[-1], norse.LICell) else total


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", default="norse.nir", help="NIR file to write")
    p.add_argument("--arch", choices=list(ARCHS), default="dense")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--time-steps", type=int, default=16)
    p.add_argument("--hidden", type=int, help="hidden units, or channels of the cnn "
                   "(default: 64 and 8)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    build, width, shape = ARCHS[args.arch]
    data = datasets.load("digits")
    levels = lambda a: torch.as_tensor(a * data.input_scale,
                                       dtype=torch.float32).reshape(len(a), *shape)
    x, y = levels(data.x_train), torch.as_tensor(data.y_train)
    net = build(args.hidden or width)
    with torch.no_grad():  # start with enough drive to spike
        for layer in net:
            if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)):
                layer.weight.mul_(8)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in tqdm(range(args.epochs), desc="norse training", unit="epoch"):
        for batch in torch.randperm(len(x)).split(64):
            loss = torch.nn.functional.cross_entropy(scores(net, x[batch], args.time_steps),
                                                     y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        x_test = levels(data.x_test)
        hits = scores(net, x_test, args.time_steps).argmax(1) == torch.as_tensor(data.y_test)
    print(f"norse test accuracy ({len(x_test)} samples, {args.time_steps} steps): "
          f"{hits.float().mean():.4f}")
    nir.write(args.output, to_nir(net, x_test[:1]))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
