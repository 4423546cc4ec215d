"""The latency ladder `hmk profiles ladder` prints: its plateaus follow from the profile."""

from hmk.cli import main
from hmk.hw.probe import latency_ladder
from hmk.hw.profile import load_soc


def test_ladder_plateaus_follow_the_profile():
    soc = load_soc("kirin9000")
    little = soc.cluster("little")
    cfg = soc.hierarchy(cluster="little", cores=1).cores[0]
    steps = latency_ladder(soc, "little", sizes=(4 << 10, 16 << 20))
    # 4 KiB: one page, 64 lines, all L1D and DTLB hits in the measured pass
    assert steps[0].cycles == little.core.l1d.latency
    assert steps[0].l1d_miss_rate == 0 and steps[0].dtlb_miss_rate == 0
    # 16 MiB (4x the L3) in random order: nearly every load misses every level
    assert steps[1].l1d_miss_rate > 0.99
    assert cfg.dram_latency <= steps[1].cycles < cfg.dram_latency + 60
    assert abs(steps[1].ns - steps[1].cycles / little.ghz) < 1e-9


def test_ladder_is_deterministic():
    soc = load_soc("rpi4")
    a = latency_ladder(soc, 0, sizes=(64 << 10, 2 << 20))
    b = latency_ladder(soc, 0, sizes=(64 << 10, 2 << 20))
    assert a == b


def test_hmk_profiles_ladder(capsys):
    assert main(["profiles", "ladder", "rpi4"]) == 0
    out = capsys.readouterr().out
    assert "64 MiB" in out and "cortex-a72" in out


def test_ladder_unknown_cluster(capsys):
    assert main(["profiles", "ladder", "kirin9000", "--cluster", "nope"]) == 2
    assert "no cluster 'nope'" in capsys.readouterr().err
