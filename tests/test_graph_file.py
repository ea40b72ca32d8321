"""The snn-export graph file: round trip, and clear errors on bad files."""
import h5py
import numpy as np
import pytest

from snn_export.deploy import graph_hdf5, netx_hdf5
from snn_export.errors import SnnExportError
from snn_export.graph import Sparse

from . import golden


@pytest.mark.parametrize("path", golden.files()[:9], ids=lambda p: p.stem)
def test_round_trip(path, tmp_path):
    net = graph_hdf5.read(path)
    graph_hdf5.write(net, tmp_path / "copy.h5")
    again = graph_hdf5.read(tmp_path / "copy.h5")
    assert [g.name for g in again.neurons] == [g.name for g in net.neurons]
    for a, b in zip(net.neurons + net.synapses, again.neurons + again.synapses):
        assert type(a) is type(b)
        for key, value in vars(a).items():
            other = getattr(b, key)
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(value, other)
            else:
                assert value == other, (a.name, key)
    assert (again.input_shape, again.input_bits, again.time_steps) == \
        (net.input_shape, net.input_bits, net.time_steps)


def test_netx_refuses_what_it_cannot_express(tmp_path):
    net = graph_hdf5.read(golden.FOLDER / "conv.h5")
    with pytest.raises(SnnExportError, match="netx HDF5 holds only chains.*graph format"):
        netx_hdf5.write(net, tmp_path / "n.net")
    assert not list(tmp_path.iterdir())


def test_errors_name_the_file_and_field(tmp_path):
    path = tmp_path / "g.h5"
    graph_hdf5.write(graph_hdf5.read(golden.FOLDER / "delays.h5"), path)
    with h5py.File(path, "r+") as f:
        del f["synapses/1"].attrs["weight_exp"]
    with pytest.raises(SnnExportError, match=r"g\.h5: /synapses/1: .*weight_exp"):
        graph_hdf5.read(path)
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(SnnExportError, match="format_version 99 is newer.*upgrade"):
        graph_hdf5.read(path)
    other = tmp_path / "other.h5"
    h5py.File(other, "w").close()
    with pytest.raises(SnnExportError, match="not an snn-export graph file"):
        graph_hdf5.read(other)
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(SnnExportError, match="text.h5"):
        graph_hdf5.read(tmp_path / "text.h5")


def test_out_of_range_values_are_refused_on_read(tmp_path):
    path = tmp_path / "g.h5"
    graph_hdf5.write(graph_hdf5.read(golden.FOLDER / "delays.h5"), path)
    with h5py.File(path, "r+") as f:
        f["synapses/0/delays"][0, 0] = 70
    with pytest.raises(SnnExportError, match="synapses a.dense: delays .* 0..62"):
        graph_hdf5.read(path)


@pytest.mark.parametrize("delayed", [False, True])
def test_sparse_synapses_round_trip(delayed, tmp_path):
    net = graph_hdf5.read(golden.FOLDER / "delays.h5")
    first = net.synapses[0]
    n_out, n_in = first.weight.shape
    rows, cols = np.nonzero(first.weight)
    net.synapses[0] = Sparse(first.name, first.source, first.target, rows, cols,
                             first.weight[rows, cols], (n_out, n_in), weight_exp=-3,
                             num_weight_bits=6, sign_mode="mixed", float_exp=-5,
                             delays=first.delays[rows, cols] if delayed else None)
    graph_hdf5.write(net, tmp_path / "s.h5")
    got = graph_hdf5.read(tmp_path / "s.h5").synapses[0]
    assert type(got) is Sparse
    for key, value in vars(net.synapses[0]).items():
        np.testing.assert_array_equal(getattr(got, key), value, err_msg=key)


def test_sparse_delays_are_version_4_and_checked_on_read(tmp_path):
    """Version 3 readers would ignore a sparse group's delays: files are version 4."""
    path = tmp_path / "g.h5"
    net = graph_hdf5.read(golden.FOLDER / "sparse_delays.h5")
    graph_hdf5.write(net, path)
    with h5py.File(path, "r+") as f:
        assert f.attrs["format_version"] == graph_hdf5.FORMAT_VERSION == 4
        assert f["synapses/0/delays"].shape == net.synapses[0].rows.shape
        f["synapses/0/delays"][0] = 63
    with pytest.raises(SnnExportError, match=r"g\.h5: synapses a.sparse: delays 0..63 outside "
                                             "0..62"):
        graph_hdf5.read(path)
