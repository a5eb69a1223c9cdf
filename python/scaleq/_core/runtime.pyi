"""
Threads and OpenMP: what the build and the machine give.
"""

from __future__ import annotations

__all__: list[str] = ["max_threads", "openmp", "team_size"]

def max_threads() -> int:
    """
    omp_get_max_threads().
    """

def team_size() -> int:
    """
    Threads a parallel region starts now: OMP_NUM_THREADS, less cores held by other processes.
    """

openmp: bool = True
