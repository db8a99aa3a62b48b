// SSH channel for EOS's unmodified os-update, which runs exactly
//   test -e /srv/www/fleet/os-images/NAME.raw.dev
//   sudo cat /srv/www/fleet/os-images/NAME.raw.dev        (or NAME.raw.firmware)
// Those two commands on image streams (current or pinned `NAME@<hash>`) are all this server does;
// they answer with the exit status and stderr of the real commands. Anything else (other commands
// or paths, shells, ptys, sftp, forwarding) is refused. Unlike EOS's os-update-restricted.sh, no
// key can read any other file. Keys come from an OpenSSH authorized_keys file, read per login.
import { timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import ssh2 from 'ssh2';
import type { AuthContext, CipherAlgorithm, Connection, ParsedKey, ServerChannel } from 'ssh2';
import { EOS_PUBLISH_DIR } from './config';
import type { ImageStore } from './image-store';
import {
  clientInputOpen,
  destroyConnection,
  emitEowOnChannels,
  EOW,
  sendEow,
  serverOutputOpen,
} from './ssh2-openssh';
import type { StreamRegistry } from './stream-registry';

const { Server, utils } = ssh2;

export const REFUSED_EXIT = 126;
/** Sent as `SSH-2.0-<ident>`; see the server options below for why it starts with "OpenSSH". */
export const SSH_IDENT = 'OpenSSH_compatible eos-fleet-update-server';
const LOGIN_GRACE_MS = 30_000;

export interface SshDeps {
  store: ImageStore;
  streams: StreamRegistry;
  publishDir: string;
  authorizedKeysFile: string;
  hostKey: string;
  ciphers: string[];
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  /** Same bound as the StreamRegistry's: no progress for this long cuts the connection. */
  stallMs: number;
  log: Logger;
}

/** Loads the host key, generating an ed25519 key (OpenSSH format, mode 600) on first start. */
export async function loadOrCreateHostKey(path: string, log: Logger): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const pair = utils.generateKeyPairSync('ed25519', { comment: 'eos-fleet-update-server' });
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, pair.private, { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
  await writeFile(`${path}.pub`, `${pair.public}\n`);
  log.info({ path }, 'generated SSH host key');
  return pair.private;
}

const KEY_RE =
  /(?:^|\s)((?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521))\s+[A-Za-z0-9+/]+={0,3})(?:\s|$)/;

/** Parses authorized_keys: one key per line, options before the key type are ignored. */
export function parseAuthorizedKeys(text: string): ParsedKey[] {
  const keys: ParsedKey[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const m = KEY_RE.exec(trimmed);
    if (!m?.[1]) continue;
    const key = utils.parseKey(m[1]);
    if (!(key instanceof Error)) keys.push(key);
  }
  return keys;
}

export type ExecRequest =
  | { kind: 'test'; path: string; fileName: string }
  | { kind: 'cat'; path: string; fileName: string }
  | { kind: 'refused' };

/** Accepts exactly `test -e DIR/FILE` and `sudo cat DIR/FILE` for an image stream FILE. */
export function parseExec(command: string, publishDir: string): ExecRequest {
  const m = /^(test -e|sudo cat) (\S+)$/.exec(command);
  if (!m?.[1] || !m[2]) return { kind: 'refused' };
  const path = m[2];
  const dirs = [EOS_PUBLISH_DIR, publishDir.replace(/\/+$/, '')];
  const dir = dirs.find((d) => path.startsWith(`${d}/`));
  if (!dir) return { kind: 'refused' };
  const fileName = path.slice(dir.length + 1);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*(@[0-9a-f]{40})?\.raw\.(dev|firmware)$/.test(fileName))
    return { kind: 'refused' };
  return { kind: m[1] === 'test -e' ? 'test' : 'cat', path, fileName };
}

function keyMatches(ctx: AuthContext, keys: ParsedKey[]): ParsedKey | undefined {
  if (ctx.method !== 'publickey') return undefined;
  return keys.find((k) => {
    const pub = k.getPublicSSH();
    return pub.length === ctx.key.data.length && timingSafeEqual(pub, ctx.key.data);
  });
}

/** Resolves with `promise`'s value, or with `undefined` once `signal` aborts (whichever is first). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * Ends an exec channel the way OpenSSH's sshd ends it (traced with sshd 9.2 and `ssh -vvv`):
 * - the command finished: `exit-status N`, `eow@openssh.com` if the client has not sent EOF, then
 *   EOF and close once the data before them is out;
 * - the client's reader went away (it sent `eow@openssh.com`): on EOS's server the `sudo cat`
 *   dies of SIGPIPE, so `exit-signal PIPE`, `eow@openssh.com` if the client has not sent EOF, and
 *   close with no EOF (sshd closes the command's output without draining it).
 * A client that already closed the channel gets nothing more.
 */
function endExec(channel: ServerChannel, how: { exitStatus: number } | 'reader-gone'): void {
  if (!serverOutputOpen(channel)) return;
  if (how === 'reader-gone') channel.exit('PIPE', false, '');
  else channel.exit(how.exitStatus);
  if (clientInputOpen(channel)) sendEow(channel);
  if (how === 'reader-gone') channel.close();
  else channel.end();
}

/** Writes to stderr and resolves when ssh2 has sent it (so exit-status follows it). */
function writeStderr(channel: ServerChannel, text: string): Promise<void> {
  return new Promise((resolve) => channel.stderr.write(text, () => resolve()));
}

export function createSshServer(
  deps: SshDeps,
): InstanceType<typeof Server> & { connections: Set<Connection> } {
  const connections = new Set<Connection>();
  const refuse = async (channel: ServerChannel, command: string, remote: string): Promise<void> => {
    deps.log.warn({ remote, command }, 'ssh command refused');
    await writeStderr(
      channel,
      `eos-fleet update server: refused: only "test -e" and "sudo cat" of ${EOS_PUBLISH_DIR}/NAME.raw.dev|.raw.firmware are allowed\n`,
    );
    endExec(channel, { exitStatus: REFUSED_EXIT });
  };

  /**
   * One exec. The stream stops at the first of: its end, the client's eow@openssh.com, the channel
   * or connection closing, or a stall (StreamRegistry): each releases the stream at once.
   */
  const runExec = async (
    client: Connection,
    channel: ServerChannel,
    command: string,
    remote: string,
  ): Promise<void> => {
    const req = parseExec(command, deps.publishDir);
    if (req.kind === 'refused') return refuse(channel, command, remote);
    const file = deps.store.resolve(req.fileName);
    if (req.kind === 'test') return endExec(channel, { exitStatus: file ? 0 : 1 });
    if (!file) {
      await writeStderr(channel, `cat: ${req.path}: No such file or directory\n`);
      return endExec(channel, { exitStatus: 1 });
    }
    if (!serverOutputOpen(channel)) return;
    const stop = new AbortController();
    const end = (reason: 'reader-gone' | 'closed' | 'stalled'): void => {
      if (!stop.signal.aborted) stop.abort(reason);
    };
    const readerGone = (): void => end('reader-gone');
    const closed = (): void => end('closed');
    const stalled = (): void => {
      end('stalled');
      // The peer takes nothing: a graceful end would wait behind the data it never reads.
      destroyConnection(client);
    };
    channel.once(EOW, readerGone);
    channel.once('close', closed);
    client.once('close', closed);
    const t0 = Date.now();
    let stream: Awaited<ReturnType<StreamRegistry['open']>> | undefined;
    try {
      stream = await deps.streams.open(file, 'ssh', remote, { onStall: stalled });
      let last: Promise<void> = Promise.resolve();
      for await (const chunk of stream.chunks) {
        if (stop.signal.aborted) break;
        let ok = true;
        last = new Promise((resolve) => (ok = channel.write(chunk, () => resolve())));
        if (!ok) await unlessAborted(once(channel, 'drain'), stop.signal);
      }
      // exit-status goes after the data: wait until ssh2 has sent the last chunk, within the same
      // bound as any other stall (the registry's clock stopped with the last chunk read).
      const flushBound = setTimeout(stalled, deps.stallMs);
      await unlessAborted(last, stop.signal);
      clearTimeout(flushBound);
    } catch (err) {
      if (!stop.signal.aborted) throw err;
    } finally {
      stream?.close();
      channel.off(EOW, readerGone);
      channel.off('close', closed);
      client.off('close', closed);
    }
    const reason = stop.signal.aborted ? (stop.signal.reason as string) : undefined;
    const entry = { remote, file: req.fileName, sha1: file.version.sha1, ms: Date.now() - t0 };
    if (reason === undefined) {
      deps.log.info({ ...entry, bytes: file.size }, 'ssh stream done');
      endExec(channel, { exitStatus: 0 });
    } else if (reason === 'reader-gone') {
      deps.log.info(entry, 'ssh stream ended by the client (eow@openssh.com)');
      endExec(channel, 'reader-gone');
    } else {
      deps.log.warn({ ...entry, reason }, 'ssh stream cut: client gone or stalled');
    }
  };

  const server = new Server(
    {
      hostKeys: [deps.hostKey],
      // OpenSSH's client sends eow@openssh.com only to a server whose version starts with
      // "OpenSSH" (compat.c: SSH_NEW_OPENSSH; the only other effect is no-more-sessions, which
      // ssh2 handles). Without eow it drops the output it buffered from its window accounting,
      // and the channel deadlocks: exactly EOS's hanging `os-update --check`.
      ident: SSH_IDENT,
      algorithms: { cipher: deps.ciphers as CipherAlgorithm[] },
      // A peer that answers nothing for interval x countMax is dropped (its streams with it).
      keepaliveInterval: deps.keepaliveIntervalMs,
      keepaliveCountMax: deps.keepaliveCountMax,
    },
    (client, info) => {
      const remote = `${info.ip}:${info.port}`;
      try {
        emitEowOnChannels(client);
      } catch (err) {
        deps.log.fatal(
          { err: (err as Error).message },
          'cannot serve SSH like sshd; refusing connections',
        );
        return void client.end();
      }
      connections.add(client);
      // Like sshd's LoginGraceTime: a connection that does not authenticate in time is dropped.
      const loginGrace = setTimeout(() => client.end(), LOGIN_GRACE_MS);
      client.on('close', () => {
        clearTimeout(loginGrace);
        connections.delete(client);
      });
      client.on('error', (err) => deps.log.debug({ remote, err: err.message }, 'ssh client error'));
      client.on('authentication', (ctx) => {
        if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
        readFile(deps.authorizedKeysFile, 'utf8')
          .then(parseAuthorizedKeys, (err: Error) => {
            deps.log.error(
              { err: err.message, file: deps.authorizedKeysFile },
              'cannot read authorized keys',
            );
            return [];
          })
          .then((keys) => {
            const key = keyMatches(ctx, keys);
            if (!key) {
              deps.log.warn({ remote, user: ctx.username }, 'ssh key not authorized');
              return ctx.reject(['publickey']);
            }
            // Without a signature the client only asks whether the key would do.
            if (
              ctx.signature &&
              ctx.blob &&
              key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true
            ) {
              return ctx.reject(['publickey']);
            }
            ctx.accept();
          })
          .catch(() => ctx.reject());
      });
      client.on('ready', () => {
        clearTimeout(loginGrace);
        client.on('session', (accept) => {
          const session = accept();
          session.on('exec', (acceptExec, _reject, execInfo) => {
            const channel = acceptExec();
            // Read (and drop) what the client sends: ssh2 only reports a channel's close after its
            // input ended, and input nobody reads would never end.
            channel.resume();
            channel.on('error', (err: Error) =>
              deps.log.debug({ remote, err: err.message }, 'ssh channel error'),
            );
            runExec(client, channel, execInfo.command, remote).catch((err: unknown) => {
              deps.log.error({ remote, err: (err as Error).message }, 'ssh exec failed');
              endExec(channel, { exitStatus: 1 });
            });
          });
          const deny = (name: string) => (_accept: unknown, reject?: () => void) => {
            deps.log.warn({ remote, request: name }, 'ssh request refused');
            reject?.();
          };
          for (const name of [
            'pty',
            'shell',
            'sftp',
            'subsystem',
            'x11',
            'auth-agent',
            'signal',
            'env',
          ]) {
            session.on(name, deny(name));
          }
        });
        client.on('tcpip', (_accept, reject) => reject());
        client.on('openssh.streamlocal', (_accept, reject) => reject());
        client.on('request', (_accept, reject) => reject?.());
      });
    },
  );
  return Object.assign(server, { connections });
}
