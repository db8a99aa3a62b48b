// The hardware of a testbed device, as small programs on the PATH of EOS's own os-update (and of
// the commit gate): findmnt, findfs, blkid, mount, mountpoint, kexec, grub2-mkimage, reboot,
// systemctl, uname, yq, and a dd that gives a partition file an end. Each is a few lines of bash
// with the device's facts written in at creation, so a call costs a shell start, not a node start.
// Everything else os-update runs (bash, the real dd, sha1sum, sed, grep, cat, readlink, umount,
// ssh through the device's ssh wrapper) is the host's own. See README.md, "What runs for real".
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT_SLOTS } from '@eos-fleet/shared';
import { ROOT_MAGIC } from '../src/root-header';
import { devicePaths, type DeviceConfig } from './device-layout';

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Shared by kexec, reboot and systemctl: how a program on the device reaches its supervisor. */
function bootControlLib(dir: string): string {
  const paths = devicePaths(dir);
  return `# testbed: kexec --exec, reboot and power loss are requests to the device's supervisor
# (a request file in testbed/requests, then SIGUSR1), as boot-control.ts makes them.
d=${shellQuote(paths.root)}

# request ACTION [REQUESTER_PID]: 0 when a running supervisor took it.
request() {
  local pid body name
  pid=$(cat "$d/testbed/supervisor.pid" 2>/dev/null) || pid=
  body=$(printf '{"action":"%s",%s"requestedAt":"%s"}' "$1" "\${2:+\\"requesterPid\\":$2,}" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    mkdir -p "$d/testbed/requests"
    name=$(printf '%015d-%s' "$(($(date +%s%N) / 1000000))" "$$$RANDOM")
    printf '%s' "$body" >"$d/testbed/requests/$name.tmp"
    mv -f "$d/testbed/requests/$name.tmp" "$d/testbed/requests/$name.json"
    kill -USR1 "$pid"
    return 0
  fi
  # No machine running it: the request decides the next boot (as boot-control.ts keeps it).
  if [ "$1" != halt ]; then
    printf '%s' "$body" >"$d/testbed/pending-boot.json.tmp" && mv -f "$d/testbed/pending-boot.json.tmp" "$d/testbed/pending-boot.json"
  fi
  return 1
}

# go_down ACTION: the machine goes down under os-update (or whoever called): never returns.
go_down() {
  local requester=\${EOS_TESTBED_OS_UPDATE_PID:-$PPID}
  if ! request "$1" "$requester"; then
    kill -KILL "$requester" 2>/dev/null
    kill -KILL $$
  fi
  # The supervisor SIGKILLs the requester; this program dies with the machine after it.
  while kill -0 "$requester" 2>/dev/null; do sleep 0.05; done
  kill -KILL $$
}
`;
}

interface Tool {
  name: string;
  /** What it stands for, one line. */
  purpose: string;
  body: string;
}

function tools(
  dir: string,
  config: DeviceConfig,
  node: { execPath: string; bundle: string },
): Tool[] {
  const paths = devicePaths(dir);
  const partuuids = [
    ...ROOT_SLOTS.map((slot) => `${slot}) echo ${shellQuote(config.slots[slot].partuuid)} ;;`),
    `p.UEFI) echo ${shellQuote(config.esp.partuuid)} ;;`,
  ].join('\n      ');
  const kernelName = config.arch === 'aarch64' ? 'Image' : 'vmlinuz';
  const bootUuids = ROOT_SLOTS.map(
    (slot) => `${slot}) uuid=${shellQuote(config.bootUuid[slot] ?? '')} ;;`,
  ).join('\n  ');
  return [
    {
      name: 'findmnt',
      purpose:
        '`findmnt -n -o SOURCE /` (the booted slot file) and `/boot/efi` (the firmware partition)',
      body: `case "\${*: -1}" in
  /) readlink "$d/dev/root" || exit 1 ;;
  /boot/efi) echo "$d/disk/p.UEFI" ;;
  *) exit 1 ;;
esac`,
    },
    {
      name: 'findfs',
      purpose: '`findfs PARTLABEL=<label>`: the partition file in DIR/disk',
      body: `label=\${1#PARTLABEL=}
if [ "$label" = "$1" ] || [ ! -e "$d/disk/$label" ]; then
  echo "findfs: unable to resolve '$1'" >&2
  exit 1
fi
echo "$d/disk/$label"`,
    },
    {
      name: 'blkid',
      purpose: '`blkid -s PARTLABEL|PARTUUID -o value <partition file>`',
      body: `tag=
dev=
while [ $# -gt 0 ]; do
  case $1 in
    -s) tag=$2; shift 2 ;;
    -o) shift 2 ;;
    *) dev=$1; shift ;;
  esac
done
file=$(readlink -f -- "$dev") || exit 2
disk=$(readlink -f -- "$d/disk")
case $file in "$disk"/*) label=\${file#"$disk"/} ;; *) exit 2 ;; esac
case $tag in
  PARTLABEL) echo "$label" ;;
  PARTUUID)
    case $label in
      ${partuuids}
      *) exit 2 ;;
    esac ;;
  *) exit 2 ;;
esac`,
    },
    {
      name: 'mount',
      purpose:
        "`mount <slot file> /mnt` (the slot's /boot: kernel, initrd, uuid) and `mount -a` (the ESP again)",
      body: `if [ "$*" = -a ]; then exec /usr/bin/mount --bind "$d/boot/efi" /boot/efi; fi
if [ $# -ne 2 ]; then echo "testbed mount: only 'mount <partition> <dir>' and 'mount -a' are modelled: $*" >&2; exit 1; fi
source=$(readlink -f -- "$1")
# A slot without a root file system (never written, or garbage at its start) does not mount.
if [ "$(head -c ${ROOT_MAGIC.length + 1} -- "$source" 2>/dev/null | tr '\\n\\000' ' .')" != ${shellQuote(`${ROOT_MAGIC} `)} ]; then
  echo "mount: $2: wrong fs type, bad option, bad superblock on $1, missing codepage or helper program, or other error." >&2
  exit 32
fi
case $(basename -- "$source") in
  ${bootUuids}
  *) echo "mount: $2: special device $1 does not exist." >&2; exit 32 ;;
esac
tree="$d/testbed/ns/slot"
rm -rf "$tree" && mkdir -p "$tree/boot"
echo "testbed kernel of $source" >"$tree/boot/${kernelName}"
echo "testbed initrd of $source" >"$tree/boot/initrd"
ln -s "$uuid" "$tree/boot/uuid"
exec /usr/bin/mount --bind "$tree" "$2"`,
    },
    {
      name: 'mountpoint',
      purpose:
        '`mountpoint -q` of the storage area (p.spare: "mounted" when it exists); the rest is the real one',
      body: `case "\${*: -1}" in
  "$d/var/lib/containers/storage" | "$d/var/lib/containers/storage/")
    if [ -d "\${*: -1}" ]; then [ "$1" = -q ] || echo "\${*: -1} is a mountpoint"; exit 0; fi
    [ "$1" = -q ] || echo "\${*: -1} is not a mountpoint"
    exit 32 ;;
esac
exec /usr/bin/mountpoint "$@"`,
    },
    {
      name: 'kexec',
      purpose:
        '`kexec --load K --initrd I --command-line C` into testbed/kexec-loaded.json ("RAM"), `kexec --exec` via the supervisor',
      body: `. ${shellQuote(path.join(paths.hardwareDir, 'boot-control.sh'))}
load= initrd= cmdline= run=
while [ $# -gt 0 ]; do
  case $1 in
    --debug | -d) shift ;;
    --load | -l) load=$2; shift 2 ;;
    --initrd) initrd=$2; shift 2 ;;
    --command-line) cmdline=$2; shift 2 ;;
    --exec | -e) run=1; shift ;;
    *) echo "kexec: unrecognized option '$1'" >&2; exit 1 ;;
  esac
done
json() { printf '%s' "$1" | sed 's/\\\\/\\\\\\\\/g; s/"/\\\\"/g'; }
if [ -n "$load" ]; then
  for file in "$load" \${initrd:+"$initrd"}; do
    if [ ! -r "$file" ]; then echo "Cannot open \\\`$file': No such file or directory" >&2; exit 1; fi
  done
  printf '{"kernel":"%s","initrd":"%s","cmdline":"%s"}\\n' "$(json "$load")" "$(json "$initrd")" "$(json "$cmdline")" >"$d/testbed/kexec-loaded.json.tmp"
  mv -f "$d/testbed/kexec-loaded.json.tmp" "$d/testbed/kexec-loaded.json"
  exit 0
fi
if [ -n "$run" ]; then
  if [ ! -e "$d/testbed/kexec-loaded.json" ]; then echo "Nothing has been loaded!" >&2; exit 1; fi
  go_down kexec
fi
exit 0`,
    },
    {
      name: 'reboot',
      purpose: '`reboot -f` (SIGKILL everything, boot what the ESP selects) and `reboot` (orderly)',
      body: `. ${shellQuote(path.join(paths.hardwareDir, 'boot-control.sh'))}
case " $* " in
  *" -f "* | *" --force "*) go_down reboot-forced ;;
  *) request reboot; exit 0 ;;
esac`,
    },
    {
      name: 'systemctl',
      purpose:
        'for the commit gate: `--no-block reboot`, `is-active --quiet UNIT`, `show --property=NRestarts --value UNIT`',
      body: `. ${shellQuote(path.join(paths.hardwareDir, 'boot-control.sh'))}
unit_state() {
  local file="$d/testbed/services/\${1%.service}.state"
  [ -r "$file" ] && cat "$file"
}
case "$*" in
  "--no-block reboot" | reboot) request reboot; exit 0 ;;
  "is-active --quiet "* | "is-active "*)
    set -- $(unit_state "\${*: -1}")
    [ "\${1:-}" = active ] && exit 0
    exit 3 ;;
  "show --property=NRestarts --value "*)
    set -- $(unit_state "\${*: -1}")
    echo "\${2:-0}"
    exit 0 ;;
esac
echo "testbed systemctl: not modelled: $*" >&2
exit 1`,
    },
    {
      name: 'grub2-mkimage',
      purpose:
        'writes the grub image stand-in: it embeds the -c config (its `set rootdev=` is the boot selection)',
      body: `out= cfg= format=
while [ $# -gt 0 ]; do
  case $1 in
    -O) format=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    -c) cfg=$2; shift 2 ;;
    -p | -d) shift 2 ;;
    *) shift ;;
  esac
done
{ printf '# testbed stand-in for a grub2-mkimage %s image, embedded config:\\n' "$format"; cat -- "$cfg"; } >"$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"`,
    },
    {
      name: 'uname',
      purpose: "`uname -m`: the device's architecture, not the host's",
      body: `if [ "$*" = -m ]; then echo ${shellQuote(config.arch)}; exit 0; fi
exec /usr/bin/uname "$@"`,
    },
    {
      name: 'yq',
      purpose:
        "`yq '.update.KEY' FILE` for the scalars of /etc/os-update.yml (mikefarah yq prints `null` for a missing key)",
      body: `key=\${1#.update.}
awk -v key="$key" '
  /^[^ \\t#-]/ { in_update = ($0 ~ /^update:[ \\t]*$/); next }
  in_update && $0 ~ ("^[ \\t]+" key ":") {
    sub("^[ \\t]+" key ":[ \\t]*", ""); sub(/[ \\t]+$/, ""); gsub(/^["\\047]|["\\047]$/, "")
    print; found = 1; exit
  }
  END { if (!found) print "null" }' "$2"`,
    },
    {
      name: 'dd',
      purpose:
        "GNU dd itself; a write to a partition file gets the partition's end (see README) and the device's pacing",
      body: `target=
for arg; do case $arg in of=*) target=\${arg#of=} ;; esac; done
disk=$(readlink -f -- "$d/disk")
case $(readlink -f -- "\${target:-/nonexistent}" 2>/dev/null) in
  "$disk"/*) ;;
  *) exec -a dd /usr/bin/dd "$@" ;;
esac
# A block device cannot grow or shrink: no truncation (conv=notrunc), and no byte past its end:
# RLIMIT_FSIZE at the partition size, SIGXFSZ ignored, so the write past the end fails (EFBIG).
# The limit is set on this shell and inherited by dd, so dd keeps its EOS name (dd:) in messages.
size=$(stat -L -c %s -- "$target")
/usr/bin/prlimit --pid $$ --fsize="$size"
trap '' XFSZ
bps=$(sed -n 's/^ *"bytesPerSecond": *\\([0-9.e+]*\\).*/\\1/p' "$d/testbed/device.json")
if [ -n "$bps" ]; then
  ${shellQuote(node.execPath)} ${shellQuote(node.bundle)} testbed-pace "$d" "$bps" | (exec -a dd /usr/bin/dd "$@" conv=notrunc)
  exit "\${PIPESTATUS[1]}"
fi
exec -a dd /usr/bin/dd "$@" conv=notrunc`,
    },
  ];
}

/** The names of the hardware stand-ins (README table; tests). */
export const HARDWARE_TOOLS = [
  'findmnt',
  'findfs',
  'blkid',
  'mount',
  'mountpoint',
  'kexec',
  'reboot',
  'systemctl',
  'grub2-mkimage',
  'uname',
  'yq',
  'dd',
] as const;

async function writeExecutable(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content, { mode: 0o755 });
  await chmod(file, 0o755);
}

/** Writes DIR/usr/lib/eos-testbed/hw/* for the device. */
export async function writeHardwareStandIns(
  dir: string,
  config: DeviceConfig,
  node: { execPath: string; bundle: string },
): Promise<void> {
  const paths = devicePaths(dir);
  await mkdir(paths.hardwareDir, { recursive: true });
  await writeFile(path.join(paths.hardwareDir, 'boot-control.sh'), bootControlLib(dir));
  for (const tool of tools(dir, config, node)) {
    await writeExecutable(
      path.join(paths.hardwareDir, tool.name),
      `#!/bin/bash\n# EOS testbed hardware stand-in: ${tool.purpose}.\nd=${shellQuote(paths.root)}\n${tool.body}\n`,
    );
  }
}

/**
 * DIR/usr/sbin/os-update for EOS's real script: a mount namespace of its own per call, where the
 * device's files lie over the absolute paths the script uses, and the hardware stand-ins first on
 * its PATH. `EOS_TESTBED_OS_UPDATE_PID` names the process a kexec or `reboot -f` takes down.
 */
export async function writeEosOsUpdate(dir: string, script: string): Promise<void> {
  const paths = devicePaths(dir);
  const ns = path.join(paths.root, 'testbed', 'ns');
  await mkdir(ns, { recursive: true });
  const inside = path.join(paths.standInDir, 'os-update-namespace');
  await writeExecutable(
    inside,
    `#!/bin/bash
# EOS testbed: runs inside this device's private mount namespace (unshare -m --propagation private,
# so nothing here reaches the host), then becomes EOS's own os-update, unmodified.
set -e
d=${shellQuote(paths.root)}
ns="$d/testbed/ns"
/usr/bin/mount -t tmpfs -o size=1m,mode=0755 eos-testbed "$ns"
mkdir "$ns/etc-upper" "$ns/etc-work" "$ns/mnt"
/usr/bin/mount --bind "$d/proc/cmdline" /proc/cmdline
/usr/bin/mount --bind "$d/boot" /boot
/usr/bin/mount --bind "$d/boot/efi" /boot/efi
/usr/bin/mount --bind "$d/run" /run
# The host has no /etc/os-update.yml to bind over: the host's /etc, with the device's file in it.
/usr/bin/mount -t overlay eos-testbed-etc -o "lowerdir=/etc,upperdir=$ns/etc-upper,workdir=$ns/etc-work" /etc
rm -f /etc/os-update.yml
if [ -e "$d/etc/os-update.yml" ]; then
  : >/etc/os-update.yml
  /usr/bin/mount --bind "$d/etc/os-update.yml" /etc/os-update.yml
fi
/usr/bin/mount --bind "$ns/mnt" /mnt
export PATH="$d/usr/lib/eos-testbed/hw:$d/usr/sbin:$d/usr/bin:$PATH"
exec /bin/bash ${shellQuote(script)} "$@"
`,
  );
  await writeExecutable(
    paths.osUpdate,
    `#!/bin/bash
# EOS testbed: EOS's own os-update (${script}, run from where it is) for this device.
# See image/testbed/README.md, "What runs for real".
export EOS_TESTBED_DIR=${shellQuote(paths.root)} EOS_TESTBED_OS_UPDATE_PID=$$
exec /usr/bin/unshare --mount --propagation private -- /bin/bash ${shellQuote(inside)} "$@"
`,
  );
}
