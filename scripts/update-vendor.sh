#!/usr/bin/env bash
# Refresh the JavaScript that runbinder ships so the site never loads it from a CDN.
#   mermaid        dist/mermaid.min.js  renders the flowcharts (Material uses window.mermaid when defined)
# (The file:// worker stand-in for Material's search, assets/iframe-worker-shim.js, is runbinder's own.)
# Usage: scripts/update-vendor.sh [MERMAID_VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
mermaid_version=${1:-11.17.2}
dest=plugins/runbinder/assets/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "mermaid@$mermaid_version" >/dev/null)
tar xzf "$work/mermaid-$mermaid_version.tgz" -C "$work" package/dist/mermaid.min.js package/LICENSE
mkdir -p "$dest/mermaid"
cp "$work/package/dist/mermaid.min.js" "$dest/mermaid/mermaid.min.js"
cp "$work/package/LICENSE" "$dest/mermaid/LICENSE"
printf 'mermaid %s\n' "$mermaid_version" > "$dest/VERSIONS"
echo "vendored: $(tr '\n' ' ' < "$dest/VERSIONS")"
