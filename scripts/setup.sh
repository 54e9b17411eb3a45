#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test tollgate:
# cmake (pingora builds zlib-ng with it), redis-server and redis-cli (shared-state
# tests, a local Redis Cluster),
# python3-venv + the official OpenAI, Anthropic and Google Gen AI SDKs (client
# compatibility tests), chromium (the status page, driven headless over the DevTools
# protocol), and the deployment files' validators: kubernetes-validate,
# check-jsonschema and yamllint (pinned, into .venv), systemd-analyze (systemd).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v cc >/dev/null || missing+=(build-essential)
command -v chromium >/dev/null || missing+=(chromium)
command -v systemd-analyze >/dev/null || missing+=(systemd)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import openai, anthropic' 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check openai anthropic
fi
# Pinned: tests/sdk/genai_client.py follows this version's request shapes.
if ! .venv/bin/python -c 'import google.genai, sys; sys.exit(google.genai.__version__ != "3.6.1")' 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check google-genai==3.6.1
fi
# tests/packaging_lint.rs: the Kubernetes and Compose schemas ship inside these packages,
# so the checks run offline.
if ! .venv/bin/python -c 'import kubernetes_validate, check_jsonschema, yamllint' 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check \
    kubernetes-validate==1.37.0 check-jsonschema==0.39.0 yamllint==1.38.0
fi
