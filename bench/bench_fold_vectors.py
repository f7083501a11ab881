"""Image search on an existing index with near-duplicate folding reading vectors from the table
(id IN query) vs from the LanceDB store's in-memory ANN index, same process.

    python bench/bench_fold_vectors.py INDEX_PARENT   # a folder holding index/ and pool/*.png
"""
import statistics
import sys
import time

from mmrag.config import load_config
from mmrag.engine import Engine
from mmrag.stores.lance import LanceStore

D=sys.argv[1]
eng=Engine.open(D+"/index", load_config(), create=False)
qs=[f"{D}/pool/{i:06d}.png" for i in range(100, 4000, 200)]
for q in qs: eng.search(image=q, k=10)  # warm: embeddings cached
def run():
    ts=[]
    for q in qs:
        t=time.perf_counter(); eng.search(image=q, k=10); ts.append(time.perf_counter()-t)
    return statistics.median(ts)*1000
new=run()
saved=LanceStore.similarity_vectors
LanceStore.similarity_vectors=lambda self, ids, channel: self.vectors(ids)  # the table read
old=run()
LanceStore.similarity_vectors=saved
new2=run()
print(f"image search p50: table read {old:.1f} ms, in-memory index {new:.1f}/{new2:.1f} ms, ratio {old/new2:.2f}x")
