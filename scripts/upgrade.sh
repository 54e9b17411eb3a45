#!/usr/bin/env bash
# Zero-downtime binary upgrade with Pingora's socket hand-over.
#
#   scripts/upgrade.sh <config.yaml> [new-binary]
#
# Kept for existing deployments: the hand-over itself is `tollgate upgrade` (see
# src/cli/upgrade.rs and `tollgate upgrade --help`), run here with the NEW binary, which
# checks the config first and never signals the old process unless the new one is
# ready to take the sockets. TOLLGATE_OLD_PID and TOLLGATE_UPGRADE_WAIT are honoured.
set -euo pipefail
conf=${1:?usage: scripts/upgrade.sh <config.yaml> [new-binary]}
bin=${2:-target/release/tollgate}
exec "$bin" upgrade -c "$conf"
