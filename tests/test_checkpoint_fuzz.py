"""Every field of a valid checkpoint, mutated to a value outside what it accepts (wrong
types, NaN, infinities, negative and zero sizes, out-of-range counts): snn-export exits 1
with one line naming the field, no traceback, nothing written."""
import copy

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snn_export.cli import main
from snn_export.model_graph import ATTRS

NAN, INF = float("nan"), float("inf")
ANY_BAD = ["x", NAN, -1, [1, 2, 3], {}]  # outside every field's range
TOP = {("time_steps",): [0, -1, 2**40, "x", 1.5, NAN],
       ("quantization", "weight_bits"): [7, "x", NAN], ("quantization", "decay_bits"): [11, -1],
       ("quantization", "aware"): ["x", 1, NAN],
       ("dataset", "input_size"): [0, *ANY_BAD], ("dataset", "input_bits"): [0, 9, *ANY_BAD],
       ("dataset", "input_scale"): [0, INF, *ANY_BAD],
       ("dataset", "num_classes"): [0, 11, *ANY_BAD],
       ("dataset", "frames"): ANY_BAD, ("dataset", "image_shape"): [[0, 8, 8], *ANY_BAD],
       ("architecture", "input", "bits"): [0, 9, INF, *ANY_BAD],
       ("architecture", "input", "scale"): [0, INF, *ANY_BAD],
       ("architecture", "input", "shape"): [[0, 8, 8], [1, -8, 8], "x", NAN, -1, {}],
       ("architecture", "alpha"): [0, INF, *ANY_BAD]}


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    from snn_export.train.cli import main as train_main
    path = tmp_path_factory.mktemp("fuzz") / "res.pt"
    assert train_main(["-q", "--epochs", "1", "--arch", "orrc_resnet", "--hidden", "4", "4",
                       "--time-steps", "4", "-o", str(path)]) == 0
    return torch.load(path, weights_only=True)


def _mutations(ckpt: dict):
    """(field as it appears in the error, path, bad values) for every field."""
    out = [(".".join(p[1:] if p[0] == "architecture" else p), p, vs) for p, vs in TOP.items()]
    for k, node in enumerate(ckpt["architecture"]["nodes"]):
        for attr in sorted(set(node) & set(ATTRS)):
            out.append((attr, ("architecture", "nodes", k, attr), ANY_BAD))
    for name, t in ckpt["state_dict"].items():
        if t.is_floating_point():
            bad = [NAN, INF, -INF] + ([-1.0] if name.endswith("running_var") else [])
            out.append((name, ("state_dict", name), bad))
    return out


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_field_out_of_range_is_one_line_naming_it(valid, data, tmp_path_factory, capsys):
    named, path, values = data.draw(st.sampled_from(_mutations(valid)))
    value = data.draw(st.sampled_from(values))
    ckpt = copy.deepcopy(valid)
    holder = ckpt
    for key in path[:-1]:
        holder = holder[key]
    if path[0] == "state_dict":
        t = holder[path[-1]].clone()
        t.view(-1)[data.draw(st.integers(0, t.numel() - 1))] = value
        value = t
    holder[path[-1]] = value
    folder = tmp_path_factory.mktemp("case")
    torch.save(ckpt, folder / "m.pt")
    capsys.readouterr()
    code = main([str(folder / "m.pt"), "--target", "lava", "-o", str(folder / "out"), "-q"])
    err = capsys.readouterr().err
    assert code == 1, (path, value, err)
    assert err.count("\n") == 1 and "Traceback" not in err and named in err, (path, err)
    assert sorted(p.name for p in folder.iterdir()) == ["m.pt"]
