#!/usr/bin/env bash
# Refresh the JavaScript that runbinder ships so the site never loads it from a CDN.
#   mermaid        dist/mermaid.min.js  renders the flowcharts (Material uses window.mermaid when defined)
#   iframe-worker  shim/index.js        lets Material's search run from file:// (offline plugin polyfill)
# Usage: scripts/update-vendor.sh [MERMAID_VERSION] [IFRAME_WORKER_VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
mermaid_version=${1:-11.17.2}
iframe_worker_version=${2:-1.0.4}
dest=plugins/runbinder/assets/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "mermaid@$mermaid_version" "iframe-worker@$iframe_worker_version" >/dev/null)
tar xzf "$work/mermaid-$mermaid_version.tgz" -C "$work" package/dist/mermaid.min.js package/LICENSE
mkdir -p "$dest/mermaid" "$dest/iframe-worker"
cp "$work/package/dist/mermaid.min.js" "$dest/mermaid/mermaid.min.js"
cp "$work/package/LICENSE" "$dest/mermaid/LICENSE"
rm -rf "$work/package"
tar xzf "$work/iframe-worker-$iframe_worker_version.tgz" -C "$work" package/shim/index.js package/LICENSE
cp "$work/package/shim/index.js" "$dest/iframe-worker/shim.js"
cp "$work/package/LICENSE" "$dest/iframe-worker/LICENSE"
printf 'mermaid %s\niframe-worker %s\n' "$mermaid_version" "$iframe_worker_version" > "$dest/VERSIONS"
echo "vendored: $(tr '\n' ' ' < "$dest/VERSIONS")"
