"""The LanceDB store as it was before bounded memory (commit a22b8c3: hnswlib graph + every row's
metadata as Python objects), kept verbatim as the baseline of bench/bench_scale.py. Not part of mmrag."""

from baseline_lance.lance import LanceStore

__all__ = ["LanceStore"]
