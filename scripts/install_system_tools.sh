#!/usr/bin/env bash
# System tools the test suite uses, installed when this machine allows it (root + apt-get):
#   espeak-ng              TTS: spoken test queries and recordings
#   pocketsphinx-testdata  real speech recordings with transcripts
#   fluidsynth + fluid-soundfont-gm   real sampled instruments for the audio-tower tests
#   gcompris-qt-data       real recordings (farm animals, instruments) the shipped sound tower never trained on
#   chromium               the web page's browser tests (Playwright drives it; never `playwright install`)
#   shared-mime-info       its specification is a real PDF with tables (PDF table tests)
#   ghostscript            PostScript documents and EPS pictures are drawn by it (ingest/postscript.py, image.py)
# Used by `make test` (best effort: tests that need a missing tool are skipped, and pytest's
# summary names this script) and by .ci/run with --strict (a failed install fails CI).
set -uo pipefail
STRICT=0
[ "${1:-}" = "--strict" ] && STRICT=1
PKGS=(espeak-ng pocketsphinx-testdata fluidsynth fluid-soundfont-gm gcompris-qt-data chromium shared-mime-info ghostscript)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_system_tools: no apt-get here; install these yourself for the full test suite: ${missing[*]}" >&2
  exit $(( STRICT ? 1 : 0 ))
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "install_system_tools: not root; the full test suite needs: sudo bash scripts/install_system_tools.sh" \
         "(installs ${missing[*]})" >&2
    exit $(( STRICT ? 1 : 0 ))
  fi
fi
echo "install_system_tools: apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if [ "$STRICT" = 1 ]; then $SUDO apt-get clean >/dev/null 2>&1 || true; fi  # room for the downloads (see the end)
if ! ($SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}") \
     >/tmp/install-system-tools.log 2>&1; then
  echo "install_system_tools: apt-get failed (log: /tmp/install-system-tools.log):" >&2
  tail -20 /tmp/install-system-tools.log >&2
  exit $(( STRICT ? 1 : 0 ))
fi
# CI (--strict): apt's cache of downloaded .deb files is emptied after the install, as it was before it. A CI
# disk may be small (one CI run stopped at pip install with "No space left on device"), and this machine image's
# cache held 2.5 GB of packages installed when the image was built; apt downloads again whatever it needs later.
if [ "$STRICT" = 1 ]; then $SUDO apt-get clean >/dev/null 2>&1 || true; fi
exit 0
