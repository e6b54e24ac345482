#!/bin/sh
# Add-on entry: the add-on's options (or /config/bambucam.yaml) → a bambucam configuration, then the
# gateway. The Supervisor stops the add-on with SIGTERM; exec lets bambucam receive it.
set -eu
config="$(bambucam-addon-config)"
if [ -n "$config" ]; then
  exec bambucam run --config "$config"
fi
exec bambucam demo --port 8090
