# Shared by scripts/serve and scripts/test: make .venv and install the package into it.
# Usage: ensure_venv [EXTRAS]   (EXTRAS e.g. "dev"); reinstalls only when setup.cfg changed.

find_python() {
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "error: Python 3.11 is required (python3.11 not found)" >&2
  return 1
}

ensure_venv() {
  local extras="${1:-}"
  local python
  python="$(find_python)"
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $python"
    "$python" -m venv .venv
  fi
  local target="."
  [ -n "$extras" ] && target=".[${extras}]"
  local stamp=".venv/.installed-$(cat setup.cfg pyproject.toml | sha256sum | cut -c1-16)-${extras:-base}"
  if [ ! -f "$stamp" ]; then
    echo "==> installing shuangsuiji${extras:+ with [$extras]} into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e "$target"
    touch "$stamp"
  fi
}
