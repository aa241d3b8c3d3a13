"""The sandbox's CPU policy, in one place: the math kernels' settings and how many threads a step uses.

* ``configure()`` sets the kernels' environment before torch loads them. It runs at the
  sandbox's entry points (the server, the worker, training and the engine), never on
  ``import ftlab``, so a student's own kernel keeps its defaults. ``MKL_CBWR=AUTO,STRICT``:
  MKL's strict reproducibility mode makes its matrix products independent of the thread count,
  so the same seed gives the same losses on 1 or 2 threads (without it the first loss of a run
  differed in the 7th digit); likewise oneDNN capped below AMX (see ``KERNELS``). A user's own
  value wins.
* ``share_threads()``: one thread policy for training and generation. A step is ~200 small
  matrix products, and with OpenMP every one waits for its slowest thread; on a core another
  process is using, that thread runs only now and then (a lone request then decodes at about
  half the speed it has on one thread; benchmarks/sandbox_figures.md). So a step takes the cores other
  processes leave free. The load average reacts within a minute and counts our own threads too,
  so ``OtherProcesses`` measures what the *other* processes used since the last reading.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

# MKL_CBWR: see above. ONEDNN_MAX_CPU_ISA: on CPUs with AMX, oneDNN's AMX bfloat16 kernels (the
# trainer's frozen matmuls) split their sums by thread count, and the same seed gave other losses
# on 1 and 2 threads (step 2: 3.4727 vs 3.4691, Xeon with AMX); capped at AVX512-BF16 they do not.
# The cap does nothing on CPUs without AMX.
KERNELS = {"MKL_CBWR": "AUTO,STRICT", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}


def configure() -> None:
    """Set the kernels' environment (call before torch is imported; harmless later)."""
    for name, value in KERNELS.items():
        os.environ.setdefault(name, value)


configure()   # importing this module is itself an entry point: training and inference import it first

import psutil  # noqa: E402


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux; empty elsewhere)."""
    return set(_cpuinfo().split())


# The instruction sets that change the sandbox's speed, in the order they were added to x86 CPUs.
INSTRUCTION_SETS = (("avx2", "AVX2"), ("avx512f", "AVX512F"), ("avx512_bf16", "AVX512-BF16"),
                    ("amx_bf16", "AMX"))


def describe() -> str:
    """One line saying which machine a figure holds for: the CPU's model, the instruction sets
    that matter here, the usable cores and the oneDNN cap (every benchmark prints it first)."""
    model = next((line.split(":", 1)[1].strip() for line in _cpuinfo().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    flags = cpu_flags()
    sets = " ".join(name for flag, name in INSTRUCTION_SETS if flag in flags) or "no AVX2"
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "default")
    return f"CPU: {model} · {sets} · {usable_cpus()} usable cores · ONEDNN_MAX_CPU_ISA={isa}"


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def fast_bfloat16() -> bool:
    """Does this CPU multiply bfloat16 matrices natively (AVX512-BF16 or AMX)? There a bfloat16
    matmul of a training step's shapes runs several times faster than float32 (figures in
    benchmarks/sandbox_figures.md); without them it is emulated and slower."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class OtherProcesses:
    """How many cores the machine's other processes kept busy, over the last ``every`` seconds."""

    def __init__(self, every: float = 0.25):
        self.every, self.cores = every, 0.0
        self._me = psutil.Process()
        # only the CPUs we may run on: in a container, the others belong to other tenants
        self._cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        self._last = self._sample()

    def _sample(self) -> tuple[float, float, float]:
        per_cpu = psutil.cpu_times(percpu=True)
        ours = [per_cpu[i] for i in self._cpus or () if i < len(per_cpu)] or per_cpu
        mine = self._me.cpu_times()
        return time.monotonic(), sum(map(_busy_seconds, ours)), mine.user + mine.system

    def busy_cores(self) -> float:
        """Cores used by other processes, measured afresh at most every ``every`` seconds."""
        if time.monotonic() - self._last[0] >= self.every:
            now = self._sample()
            wall, busy, mine = (b - a for a, b in zip(self._last, now))
            self.cores, self._last = max(0.0, (busy - mine) / wall), now
        return self.cores


def _busy_seconds(cpu) -> float:
    """Seconds a CPU spent busy (psutil's fields; guest time is already inside user time)."""
    idle = cpu.idle + getattr(cpu, "iowait", 0.0)
    guest = getattr(cpu, "guest", 0.0) + getattr(cpu, "guest_nice", 0.0)
    return sum(cpu) - idle - guest


def share_threads(others: OtherProcesses, most: int | None = None) -> int:
    """Set torch's threads for the next step: the cores left free by other processes (half a
    busy core counts as free), at most ``most``. Results do not depend on it (``configure``)."""
    threads = max(1, int(usable_cpus() - others.busy_cores() + 0.5))
    threads = min(threads, most or threads)
    import torch   # here, not at the top: the server and an idle worker never load torch (~200 MB each)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def share_threads_now(every: float = 0.25) -> int:
    """``share_threads`` for one long job outside the sandbox's loops (an export, an import):
    measures the other processes for ``every`` seconds first."""
    others = OtherProcesses(every)
    time.sleep(every)
    return share_threads(others)
