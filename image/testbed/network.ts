// The device's network to its update server: `DIR/usr/bin/ssh`, first on the PATH of os-update.
// Normally it only adds the device's ssh_config (the server's port) to the real /usr/bin/ssh. With
// the `cutStream` fault (faults.json, device-state.ts) it drops a `sudo cat` stream after N bytes,
// as a connection that breaks mid-download does: os-update's reader gets those bytes and then
// end of file, the ssh client is gone (killed: the connection no longer exists) and the wrapper
// exits 255, ssh's code for a lost connection. Everything else (EOS's script, dd, the server) is
// real, so what a short stream does to a device is EOS's own behaviour.
import { devicePaths } from './device-layout';
import { shellQuote } from './hardware';

export function sshWrapper(dir: string): string {
  const paths = devicePaths(dir);
  const ssh = `/usr/bin/ssh -F ${shellQuote(paths.sshConfig)}`;
  return `#!/bin/bash
# EOS testbed: the network between this device and its update server (image/testbed/network.ts).
case \${*: -1} in
  "sudo cat "*) ;;
  *) exec ${ssh} "$@" ;;
esac
faults=$(cat ${shellQuote(paths.faults)} 2>/dev/null) || faults=
cut=$(sed -n 's/.*"cutStream" *: *{\\([^}]*\\)}.*/\\1/p' <<<"$faults")
if [ -z "$cut" ]; then exec ${ssh} "$@"; fi
bytes=$(sed -n 's/.*"bytes" *: *\\([0-9]*\\).*/\\1/p' <<<"$cut")
nth=$(sed -n 's/.*"nth" *: *\\([0-9]*\\).*/\\1/p' <<<"$cut")
# Count this stream (one at a time: os-update's calls may overlap with an agent's).
stream=$(
  exec 9>>${shellQuote(`${paths.streamCount}.lock`)}
  flock 9
  n=$(($(cat ${shellQuote(paths.streamCount)} 2>/dev/null || echo 0) + 1))
  echo "$n" >${shellQuote(paths.streamCount)}
  echo "$n"
)
if [ -z "$bytes" ] || { [ -n "$nth" ] && [ "$nth" != "$stream" ]; }; then exec ${ssh} "$@"; fi
mkdir -p ${shellQuote(paths.logs)}
echo "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) stream $stream (\${*: -1}): cut after $bytes bytes" >>${shellQuote(paths.networkLog)}
# head passes exactly the first $bytes bytes (fewer if the stream is shorter), then ends the stream.
head -c "$bytes" < <(exec ${ssh} "$@")
kill -KILL $! 2>/dev/null
echo "ssh: connection to the update server lost (testbed fault cutStream: stream $stream cut after $bytes bytes)" >&2
exit 255
`;
}
