"""Loihi 2 systems (``--system``): the table of systems, the partition of a network over cores
and chips (counts worked out by hand), the ``resources/cores`` rule against the system's
chips, the command-line flag and the report's resource section."""
import numpy as np
import pytest

from snn_export import fixed_point as fp
from snn_export.deploy import compliance, graph_hdf5
from snn_export.deploy.compliance import (SYSTEMS, Loihi2Limits, LoihiSystem, check_network,
                                          loihi_system, partition, resources)
from snn_export.errors import SnnExportError
from snn_export.graph import INPUT, Dense, Network, Neurons

from .test_cli import SEW_ADD, graph_checkpoint, run

LIMITS = Loihi2Limits()
KNOWN = "known: chip (1 chip), kapoho-point (8 chips), hala-point (1,152 chips)"


def group(name: str, size: int) -> Neurons:
    return Neurons(name, (size,), fp.LIFParams(100, 4095, 2048), np.zeros(size, dtype=np.int64))


def groups(*sizes: int) -> Network:
    """Neuron groups ``g0, g1, ...`` of ``sizes`` neurons, ``g0`` reading 4 inputs (one
    synapse each) and the others without synapses: their cores come from their neurons."""
    neurons = [group(f"g{k}", n) for k, n in enumerate(sizes)]
    return Network((4,), 8, 4, neurons,
                   [Dense("g0.dense", INPUT, "g0", np.full((sizes[0], 4), 2, dtype=np.int64))])


def found(violations):
    return [(v.rule, v.layer) for v in violations]


# --- The table ---

def test_named_systems_and_their_chips():
    assert {name: s.chips for name, s in SYSTEMS.items()} == {
        "chip": 1, "kapoho-point": 8, "hala-point": 1152}
    assert loihi_system("kapoho-point") is SYSTEMS["kapoho-point"]
    assert loihi_system(SYSTEMS["hala-point"]).chips == 1152


def test_a_chip_count_is_a_system():
    assert loihi_system("16") == LoihiSystem("16", 16, "16 Loihi 2 chips")
    assert loihi_system(3).chips == 3 and loihi_system(" 2 ").chips == 2
    assert loihi_system(1).describe() == "1 Loihi 2 chip (--system 1)"


@pytest.mark.parametrize("bad", ["nope", "Kapoho Point", "2.5", "", "8 chips"])
def test_an_unknown_name_is_refused_with_the_known_ones(bad):
    with pytest.raises(SnnExportError) as exc:
        loihi_system(bad)
    assert str(exc.value) == (f"unknown Loihi 2 system {bad!r}; {KNOWN}; or a positive "
                              "integer, the number of chips")


@pytest.mark.parametrize("bad", [0, "0", -2, "-1"])
def test_zero_or_negative_chips_are_refused(bad):
    with pytest.raises(SnnExportError, match="a system needs a positive number of chips"):
        loihi_system(bad)


# --- The partition ---

def test_a_group_of_two_cores_and_a_bit_takes_three():
    net = groups(2 * LIMITS.neurons_per_core + 1, 10)
    placed = partition(net)
    assert [(p.layer, p.cores, p.first_core, p.chips) for p in placed.groups] == [
        ("g0", 3, 0, (1,)), ("g1", 1, 3, (1,))]
    assert (placed.cores, placed.chips, placed.cores_per_chip) == (4, 1, 128)


def test_synaptic_memory_sets_a_groups_cores():
    limits = Loihi2Limits(synaptic_memory_bits=100 * fp.WEIGHT_BITS)
    net = groups(60)  # 60 x 4 = 240 synapses: 3 cores' memory for 60 neurons
    assert partition(net, limits).groups[0].cores == 3


def test_groups_fill_one_chip_exactly_and_the_next_spills_to_a_second():
    full = groups(*[1] * LIMITS.cores_per_chip)  # one core each
    placed = partition(full)
    assert (placed.cores, placed.chips) == (128, 1)
    assert {p.chips for p in placed.groups} == {(1,)}
    assert check_network(full) == []

    spilled = groups(*[1] * (LIMITS.cores_per_chip + 1))
    placed = partition(spilled)
    assert (placed.cores, placed.chips) == (129, 2)
    assert placed.groups[-1] == compliance.Placement("g128", 1, 128, (2,))
    assert placed.groups[-2].chips == (1,)
    assert placed.chips_of("g128") == "2"


def test_a_group_continues_on_the_next_chip_and_chips_are_never_half_used():
    limits = Loihi2Limits(cores_per_chip=4)
    neurons = limits.neurons_per_core
    net = groups(3 * neurons, 3 * neurons, 2 * neurons + 1)  # 3, 3 and 3 cores
    placed = partition(net, limits)
    assert [(p.first_core, p.chips) for p in placed.groups] == [
        (0, (1,)), (3, (1, 2)), (6, (2, 3))]
    assert (placed.cores, placed.chips) == (9, 3)  # ceil(9 / 4)
    assert placed.chips_of("g1") == "1-2"


def test_a_group_bigger_than_a_chip_spans_chips():
    size = LIMITS.cores_per_chip * LIMITS.neurons_per_core + 1
    placed = partition(groups(4, size))
    assert placed.groups[1].cores == 129 and placed.groups[1].chips == (1, 2)
    assert (placed.cores, placed.chips) == (130, 2)
    assert [r.cores for r in resources(groups(4, size))] == [1, 129]


# --- The rule against the system ---

def test_more_chips_than_the_system_has_is_a_violation():
    net = groups(*[1] * 100, 40 * LIMITS.neurons_per_core)  # 100 + 40 cores: 2 chips
    (v,) = check_network(net)
    assert found([v]) == [("resources/cores", "g100")]
    assert v.line() == (
        "g100: the network needs 140 cores on 2 chips (128 cores each), but --system chip "
        "(one Loihi 2 chip) has 1 chip, and this layer, its largest group (327,680 neurons, "
        "0 synapses), needs 40 cores (rule resources/cores); shrink it, or name a larger "
        "--system")
    for system in ("kapoho-point", "hala-point", 2, "2"):
        assert check_network(net, system=system) == []
    (v,) = check_network(groups(*[LIMITS.neurons_per_core * 128] * 9), system="kapoho-point")
    assert "needs 1,152 cores on 9 chips (128 cores each), but --system kapoho-point " \
           "(Kapoho Point, an 8-chip Loihi 2 board) has 8 chips" in v.message
    assert check_network(groups(*[LIMITS.neurons_per_core * 128] * 9), system=9) == []


def test_fan_in_stays_per_core_on_any_system():
    big = Network((LIMITS.max_fan_in + 1,), 8, 4, [group("g0", 1)],
                  [Dense("g0.dense", INPUT, "g0",
                         np.full((1, LIMITS.max_fan_in + 1), 2, dtype=np.int64))])
    assert found(check_network(big, system="hala-point")) == [("resources/fan-in", "g0")]


def test_check_network_refuses_a_bad_system():
    with pytest.raises(SnnExportError, match="unknown Loihi 2 system 'moon'"):
        check_network(groups(4), system="moon")


# --- The command line and the report ---

OR_NODES = [dict(n) for n in SEW_ADD]
OR_NODES[4]["op"] = "or"


@pytest.mark.parametrize("value, message", [
    ("nope", f"snn-export: error: --system nope: unknown Loihi 2 system 'nope'; {KNOWN}; or a "
             "positive integer, the number of chips"),
    ("0", "snn-export: error: --system 0: 0 chips: a system needs a positive number of chips; "
          "or name one of chip (1 chip), kapoho-point (8 chips), hala-point (1,152 chips)"),
    ("-4", "snn-export: error: --system -4: -4 chips"),
])
def test_a_bad_system_is_one_line_exit_1_and_nothing_written(tmp_path, capsys, value, message):
    model = graph_checkpoint(tmp_path / "orrc.pt", OR_NODES)
    for extra in ([], ["--check"]):
        out = tmp_path / "out"
        code, stdout, stderr = run([model, "--target", "lava", "-o", out, f"--system={value}",
                                    *extra], capsys)
        assert code == 1 and stdout == ""
        assert stderr.startswith(message) and stderr.count("\n") == 1, stderr
        assert not out.exists()


def test_only_exceeding_the_systems_chips_is_refused(tmp_path, capsys, monkeypatch):
    """Chips of 2 cores (instead of 128), so that a small model needs several."""
    model = graph_checkpoint(tmp_path / "orrc.pt", OR_NODES)
    limits = Loihi2Limits(cores_per_chip=2)
    monkeypatch.setattr(compliance.check_network, "__defaults__", (limits, "chip"))
    code, stdout, stderr = run([model, "--target", "lava", "-o", tmp_path / "o"], capsys)
    assert code == 2 and "(rule resources/cores)" in stderr
    assert not (tmp_path / "o").exists()
    from snn_export import pipeline

    net = pipeline.check(pipeline.load(model), system=100).network
    chips = partition(net, limits).chips
    assert chips >= 2
    code, stdout, _ = run([model, "--target", "lava", "--check", "--system", chips - 1], capsys)
    assert code == 2 and f"on {chips} chips (2 cores each), but --system {chips - 1}" in stdout
    code, stdout, _ = run([model, "--target", "lava", "--check", "--system", chips], capsys)
    assert code == 0 and "compliant" in stdout


def test_report_states_the_system_and_where_each_group_lands(tmp_path, capsys):
    model = graph_checkpoint(tmp_path / "orrc.pt", OR_NODES)
    out = tmp_path / "out"
    code, _, stderr = run([model, "--target", "lava", "-o", out, "-q", "--system",
                           "kapoho-point"], capsys)
    assert code == 0, stderr
    report = (out / "report.md").read_text()
    net = graph_hdf5.read(out / "network.h5")
    placed = partition(net)
    section = report.split("## Loihi 2 resources (estimate)\n\n")[1].split("\n## ")[0]
    assert "- system: Kapoho Point, an 8-chip Loihi 2 board (--system kapoho-point): 8 x 128 " \
           "cores" in section
    assert f"- needs {placed.cores} cores on 1 chip: fits" in section
    table = section.split("| group | synaptic memory (KiB) | cores | chip |\n|---|---|---|---|\n")
    rows = [line.strip("|").split("|") for line in table[1].strip().splitlines()]
    assert [(r[0].strip(), int(r[2]), r[3].strip()) for r in rows] == [
        (p.layer, p.cores, "1") for p in placed.groups]
    assert [g.name for g in net.neurons] == [p.layer for p in placed.groups]


def test_report_of_a_network_over_its_system(tmp_path):
    from snn_export.sim.report import Report

    size = LIMITS.cores_per_chip * LIMITS.neurons_per_core + 1
    net = groups(4, size)
    section = "\n".join(Report(net, "network.h5", allowed=[])._resources())
    assert "- system: one Loihi 2 chip (--system chip): 1 x 128 cores" in section
    assert "- needs 130 cores on 2 chips: does not fit the system's 1 chip" in section
    assert "| g1 | 0.0 | 129 | 1-2 |" in section
    section = "\n".join(Report(net, "network.h5", system="3")._resources())
    assert "- system: 3 Loihi 2 chips (--system 3): 3 x 128 cores" in section
    assert "- needs 130 cores on 2 chips: fits" in section
