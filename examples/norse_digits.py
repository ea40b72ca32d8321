"""Train a spiking network in norse on scikit-learn's digits and write it as NIR, for
``snn-export net.nir --dialect norse --target lava``.

The network: Linear(64, 64) -> LIFCell -> Linear(64, 10) -> LIFCell, with biases (snn-export
carries them by always-on synapses, so that they start with the input as in norse: see the
README's "NIR in"), trained with norse's surrogate gradient on the spike counts.
Input: each pixel's level (0..16, 5 bits) divided by 16, presented at every step.

    python examples/norse_digits.py -o norse.nir
    snn-export norse.nir --dialect norse --time-steps 16 --target lava --dataset digits \\
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


def network(hidden: int) -> norse.SequentialState:
    return norse.SequentialState(torch.nn.Linear(64, hidden), norse.LIFCell(),
                                 torch.nn.Linear(hidden, 10), norse.LIFCell())


def counts(net, x: torch.Tensor, steps: int) -> torch.Tensor:
    """Readout spikes summed over ``steps`` steps of the constant input ``x``."""
    state, total = None, 0
    for _ in range(steps):
        z, state = net(x, state)
        total = total + z
    return total


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", default="norse.nir", help="NIR file to write")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--time-steps", type=int, default=16)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    data = datasets.load("digits")
    x = torch.as_tensor(data.x_train * data.input_scale, dtype=torch.float32)
    y = torch.as_tensor(data.y_train)
    net = network(args.hidden)
    with torch.no_grad():  # start with enough drive to spike
        for layer in (net[0], net[2]):
            layer.weight.mul_(8)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in tqdm(range(args.epochs), desc="norse training", unit="epoch"):
        for batch in torch.randperm(len(x)).split(64):
            loss = torch.nn.functional.cross_entropy(counts(net, x[batch], args.time_steps),
                                                     y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        x_test = torch.as_tensor(data.x_test * data.input_scale, dtype=torch.float32)
        hits = counts(net, x_test, args.time_steps).argmax(1) == torch.as_tensor(data.y_test)
    print(f"norse test accuracy ({len(x_test)} samples, {args.time_steps} steps): "
          f"{hits.float().mean():.4f}")
    nir.write(args.output, to_nir(net, x_test[:1]))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
