"""--input and --labels: .npy test samples in every documented shape, and one clear error
naming the file, the value and what would be valid for everything else."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_export import samples_file
from snn_export.errors import SnnExportError


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=st.sampled_from([(6,), (2, 3, 3), (1, 4, 5)]),
       time_steps=st.integers(2, 5), bits=st.integers(1, 8), in_time=st.booleans(),
       flat=st.booleans())
def test_every_documented_shape_reads_as_flattened_frames(data, shape, time_steps, bits,
                                                           in_time, flat, tmp_path_factory):
    n = data.draw(st.integers(1, 4))
    frame = (int(np.prod(shape)),) if flat else shape
    x = np.random.default_rng(n).integers(0, 2**bits, (n, *((time_steps,) if in_time else ()),
                                                       *frame))
    folder = tmp_path_factory.mktemp("samples")
    np.save(folder / "x.npy", x.astype(data.draw(st.sampled_from([np.uint8, np.int64,
                                                                  np.float32]))))
    np.save(folder / "y.npy", np.arange(n))
    got, y = samples_file.load(folder / "x.npy", folder / "y.npy", shape, time_steps, bits,
                               classes=n)
    assert got.dtype == np.int64 and y.tolist() == list(range(n))
    np.testing.assert_array_equal(got, x.reshape(n, time_steps, -1) if in_time
                                  else x.reshape(n, -1))


@pytest.mark.parametrize("x, y, message", [
    (np.zeros((3, 2, 9)), None, "x.npy: shape (3, 2, 9); this network reads (samples, 18) "
     "or (samples, 2, 3, 3) or (samples, 4, 18) or (samples, 4, 2, 3, 3)"),
    (np.zeros((3, 4, 18, 1)), None, "(samples, 4, 18) or (samples, 4, 2, 3, 3)"),
    (np.full((2, 18), 4), None, "x.npy: value 4 at index (0, 0) is not an integer in 0..3 "
     "(2-bit levels; --input-bits B allows 0..2**B-1)"),
    (np.array([[0.0] * 17 + [1.5]] * 2), None, "value 1.5 at index (0, 17) is not an integer"),
    (np.array([[0.0] * 17 + [np.nan]]), None, "value nan at index (0, 17)"),
    (np.array([["a"] * 18]), None, "x.npy: dtype <U1; expected integers"),
    (np.zeros((0, 18)), None, "x.npy: no samples (shape (0, 18))"),
    (np.zeros((3, 18)), np.zeros(2), "y.npy: shape (2,); expected (3,), one class per sample "
     "of --input"),
    (np.zeros((3, 18)), np.array([0, -1, 2]), "y.npy: value -1 at index (1,) is not an "
     "integer in 0..2 (the readout's 3 classes)"),
    (np.zeros((3, 18)), np.array([0, 3, 2]), "y.npy: value 3 at index (1,)"),
])
def test_bad_samples_are_refused_naming_file_value_and_what_is_valid(x, y, message, tmp_path):
    np.save(tmp_path / "x.npy", x)
    if y is not None:
        np.save(tmp_path / "y.npy", y)
    with pytest.raises(SnnExportError) as caught:
        samples_file.load(tmp_path / "x.npy", None if y is None else tmp_path / "y.npy",
                          (2, 3, 3), 4, 2, classes=3)
    assert message in str(caught.value), caught.value


def test_spikes_as_booleans_read(tmp_path):
    np.save(tmp_path / "x.npy", np.eye(6, dtype=bool)[:4])
    x, y = samples_file.load(tmp_path / "x.npy", None, (6,), 4, 1, classes=2)
    assert y is None and x.tolist() == np.eye(6, dtype=int)[:4].tolist()


def test_files_that_are_no_npy_array_are_refused(tmp_path):
    (tmp_path / "x.txt").write_text("0 1 0")
    (tmp_path / "empty.npy").write_bytes(b"")
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 6)))
    for path, message in ((tmp_path / "x.txt", "x.txt: not a NumPy .npy array"),
                          (tmp_path / "empty.npy", "empty.npy: not a NumPy .npy array"),
                          (tmp_path / "x.npz", "x.npz: an .npz archive; give one .npy array"),
                          (tmp_path / "none.npy", "--input " + str(tmp_path / "none.npy") +
                           ": no such file")):
        with pytest.raises(SnnExportError, match="^--input .*") as caught:
            samples_file.load(path, None, (6,), 4, 1, classes=2)
        assert message in str(caught.value), caught.value
