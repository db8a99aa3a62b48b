#!/bin/sh
# Stage the EOS Fleet agent into a kiwi root overlay directory (the `root/` beside an EOS
# description's appliance.kiwi / config.xml): image/overlay/{etc,usr} plus the agent bundle.
#
#   image/kiwi/stage-overlay.sh [--bundle FILE] [--force-config] TARGET_DIR
#
# Without --bundle it builds the bundle first (npm run build -w @eos-fleet/agent). An existing
# etc/eos-fleet/agent.yml or commit-gate.conf in TARGET_DIR is kept (it holds the real gateway URL
# and enrollment token) unless --force-config is given.
set -eu

usage() {
  echo "usage: $0 [--bundle FILE] [--force-config] TARGET_DIR" >&2
  exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
overlay="$here/../overlay"
bundle=
force_config=no
target=
while [ $# -gt 0 ]; do
  case $1 in
    --bundle)
      [ $# -ge 2 ] || usage
      bundle=$2
      shift 2
      ;;
    --force-config)
      force_config=yes
      shift
      ;;
    -h | --help) usage ;;
    -*) usage ;;
    *)
      [ -z "$target" ] || usage
      target=$1
      shift
      ;;
  esac
done
[ -n "$target" ] || usage

if [ -z "$bundle" ]; then
  echo "building the agent bundle (npm run build -w @eos-fleet/agent)" >&2
  (cd "$repo" && npm run build -w @eos-fleet/agent >&2)
  bundle="$repo/apps/agent/dist/eos-fleet-agent.mjs"
fi
if [ ! -f "$bundle" ]; then
  echo "$0: no agent bundle at $bundle" >&2
  exit 1
fi

mkdir -p "$target"
# Keep the image builder's real configuration: copy ours aside and restore theirs afterwards.
kept=
if [ "$force_config" = no ]; then
  for file in agent.yml commit-gate.conf; do
    if [ -f "$target/etc/eos-fleet/$file" ]; then
      cp -p "$target/etc/eos-fleet/$file" "$target/etc/eos-fleet/.$file.keep"
      kept="$kept $file"
    fi
  done
fi

cp -R "$overlay/etc" "$overlay/usr" "$target/"
cp "$bundle" "$target/usr/lib/eos-fleet/eos-fleet-agent.mjs"

for file in $kept; do
  mv -f "$target/etc/eos-fleet/.$file.keep" "$target/etc/eos-fleet/$file"
  echo "kept the existing etc/eos-fleet/$file (--force-config replaces it)" >&2
done

# Modes do not depend on the checkout's umask. kiwi keeps them; config.sh sets root ownership.
chmod 0755 "$target/etc/eos-fleet" "$target/usr/lib/eos-fleet" "$target/usr/libexec/eos-fleet" \
  "$target/usr/lib/systemd/system/update_commit.service.d"
chmod 0755 "$target/usr/bin/eos-fleet-agent" "$target/usr/libexec/eos-fleet/commit-gate"
chmod 0644 "$target/usr/lib/eos-fleet/eos-fleet-agent.mjs" "$target/usr/lib/eos-fleet/README.md" \
  "$target/usr/lib/systemd/system/eos-fleet-agent.service" \
  "$target/usr/lib/systemd/system/eos-fleet-commit-gate.service" \
  "$target/usr/lib/systemd/system/update_commit.service.d/eos-fleet-gate.conf" \
  "$target/etc/eos-fleet/commit-gate.conf"
# The enrollment token: root only (the agent and the gate run as root).
chmod 0600 "$target/etc/eos-fleet/agent.yml"

echo "staged the EOS Fleet agent into $target" >&2
