"""/sys/devices/system/cpu (hmk.services.sysfs) as a program reads it (tests/guest/sysfs.c)
on one core (cores=1; tests/test_smp_abi.py reads several): one CPU, with its profile's caches
in Linux's cacheinfo order and formats. Linux on the host describes the host's CPUs, so the
expected text is made here from the hardware profile (the cluster's core and the SoC's shared
level)."""

import pytest
from guest_programs import build, run

from hmk.hw.profile import load_soc


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "sysfs")


def expected(profile: str, cluster: str | None) -> bytes:
    soc = load_soc(profile)
    which = soc.clusters[0] if cluster is None else soc.cluster(cluster)
    h = soc.hierarchy(cluster=which.name, cores=1)
    core = h.cores[0]
    caches = [(1, "Data", core.l1d), (1, "Instruction", core.l1i)]
    if core.l2 is not None:
        caches.append((2, "Unified", core.l2))
    if h.l3 is not None:
        caches.append((caches[-1][0] + 1, "Unified", h.l3))
    lines = ["online 1 configured 1", "affinity 1"]
    lines += [f"{name}: '{value}'" for name, value in
              (("online", 0), ("possible", 0), ("present", 0), ("offline", ""))]  # fmt: skip
    lines += ["entry cpu0", "entry cpufreq"]  # (cpufreq: the clusters' frequency policies)
    for i, (level, kind, c) in enumerate(caches):
        attrs = (
            ("level", level),
            ("type", kind),
            ("size", f"{c.size >> 10}K"),
            ("coherency_line_size", c.line),
            ("ways_of_associativity", c.ways),
            ("number_of_sets", c.size // (c.ways * c.line)),
            ("shared_cpu_map", 1),
            ("shared_cpu_list", 0),
        )
        lines += [f"cpu0/cache/index{i}/{name}: '{value}'" for name, value in attrs]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("profile", "cluster", "system"),
    [("kirin9000", None, "hm-phone"), ("kirin9000", "little", "linux"), ("rpi4", None, "sel4")],
)
def test_cpus_and_caches_as_the_profile_has_them(program, profile, cluster, system):
    out, result = run(program, system=system, profile=profile, cluster=cluster, cores=1)
    assert result.exit_status == 0
    assert out == expected(profile, cluster)


def test_the_pi_shows_its_shared_l2_as_level_2(program):
    """The Pi 4B's 1 MiB L2 (modelled in the shared level's slot) is a level-2 cache, as its
    Linux shows it: 32K data, 48K instruction, 1024K unified."""
    out, _ = run(program, system="linux", profile="rpi4")
    sizes = [line.split("'")[1] for line in out.decode().splitlines() if "/size:" in line]
    levels = [line.split("'")[1] for line in out.decode().splitlines() if "/level:" in line]
    assert (sizes, levels) == (["32K", "48K", "1024K"], ["1", "1", "2"])
