#!/usr/bin/env bash
# down.sh — stop the test control plane that up.sh started (only the PIDs it
# recorded in the state dir), wait for them to exit, and remove the state dir.
# Uses the same RUDDER_TESTENV_DIR as up.sh. Safe to run when nothing is up.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

take_lock
stop_recorded
remove_state
log "stopped; removed $STATE_DIR"
