// SSH channel for EOS's unmodified os-update, which runs exactly
//   test -e /srv/www/fleet/os-images/NAME.raw.dev
//   sudo cat /srv/www/fleet/os-images/NAME.raw.dev        (or NAME.raw.firmware)
// Those two commands on image streams (current or pinned `NAME@<hash>`) are all this server does;
// they answer with the exit status and stderr of the real commands. Anything else (other commands
// or paths, shells, ptys, sftp, forwarding) is refused. Unlike EOS's os-update-restricted.sh, no
// key can read any other file. Keys come from an OpenSSH authorized_keys file, read per login.
import { timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import ssh2 from 'ssh2';
import type { AuthContext, CipherAlgorithm, Connection, ParsedKey, ServerChannel } from 'ssh2';
import { EOS_PUBLISH_DIR } from './config';
import type { ImageStore } from './image-store';
import type { StreamRegistry } from './stream-registry';

const { Server, utils } = ssh2;

export const REFUSED_EXIT = 126;
const LOGIN_GRACE_MS = 30_000;

export interface SshDeps {
  store: ImageStore;
  streams: StreamRegistry;
  publishDir: string;
  authorizedKeysFile: string;
  hostKey: string;
  ciphers: string[];
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

const KEY_RE = /(?:^|\s)((?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521))\s+[A-Za-z0-9+/]+={0,3})(?:\s|$)/;

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
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*(@[0-9a-f]{40})?\.raw\.(dev|firmware)$/.test(fileName)) return { kind: 'refused' };
  return { kind: m[1] === 'test -e' ? 'test' : 'cat', path, fileName };
}

function keyMatches(ctx: AuthContext, keys: ParsedKey[]): ParsedKey | undefined {
  if (ctx.method !== 'publickey') return undefined;
  return keys.find((k) => {
    const pub = k.getPublicSSH();
    return pub.length === ctx.key.data.length && timingSafeEqual(pub, ctx.key.data);
  });
}

async function waitWritable(channel: ServerChannel): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      channel.off('drain', onDrain);
      channel.off('close', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    channel.once('drain', onDrain);
    channel.once('close', onClose);
  });
}

export function createSshServer(deps: SshDeps): InstanceType<typeof Server> & { connections: Set<Connection> } {
  const connections = new Set<Connection>();
  const refuse = (channel: ServerChannel, command: string, remote: string): void => {
    deps.log.warn({ remote, command }, 'ssh command refused');
    channel.stderr.write(
      `eos-fleet update server: refused: only "test -e" and "sudo cat" of ${EOS_PUBLISH_DIR}/NAME.raw.dev|.raw.firmware are allowed\n`,
    );
    channel.exit(REFUSED_EXIT);
    channel.end();
  };

  const runExec = async (channel: ServerChannel, command: string, remote: string): Promise<void> => {
    const req = parseExec(command, deps.publishDir);
    if (req.kind === 'refused') return refuse(channel, command, remote);
    const file = deps.store.resolve(req.fileName);
    if (req.kind === 'test') {
      channel.exit(file ? 0 : 1);
      return void channel.end();
    }
    if (!file) {
      channel.stderr.write(`cat: ${req.path}: No such file or directory\n`);
      channel.exit(1);
      return void channel.end();
    }
    const stream = await deps.streams.open(file, 'ssh', remote);
    let open = true;
    channel.once('close', () => (open = false));
    const t0 = Date.now();
    try {
      for await (const chunk of stream.chunks) {
        if (!open) break;
        if (!channel.write(chunk) && !(await waitWritable(channel))) break;
      }
    } finally {
      stream.close();
    }
    if (open) {
      deps.log.info({ remote, file: req.fileName, sha1: file.version.sha1, bytes: file.size, ms: Date.now() - t0 }, 'ssh stream done');
      channel.exit(0);
      channel.end();
    } else {
      deps.log.warn({ remote, file: req.fileName }, 'ssh stream closed by client');
    }
  };

  const server = new Server(
    {
      hostKeys: [deps.hostKey],
      ident: 'eos-fleet-update-server',
      algorithms: { cipher: deps.ciphers as CipherAlgorithm[] },
    }, (client, info) => {
    const remote = `${info.ip}:${info.port}`;
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
          deps.log.error({ err: err.message, file: deps.authorizedKeysFile }, 'cannot read authorized keys');
          return [];
        })
        .then((keys) => {
          const key = keyMatches(ctx, keys);
          if (!key) {
            deps.log.warn({ remote, user: ctx.username }, 'ssh key not authorized');
            return ctx.reject(['publickey']);
          }
          // Without a signature the client only asks whether the key would do.
          if (ctx.signature && ctx.blob && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
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
          runExec(channel, execInfo.command, remote).catch((err: unknown) => {
            deps.log.error({ remote, err: (err as Error).message }, 'ssh exec failed');
            channel.exit(1);
            channel.end();
          });
        });
        const deny = (name: string) => (_accept: unknown, reject?: () => void) => {
          deps.log.warn({ remote, request: name }, 'ssh request refused');
          reject?.();
        };
        for (const name of ['pty', 'shell', 'sftp', 'subsystem', 'x11', 'auth-agent', 'signal', 'env']) {
          session.on(name, deny(name));
        }
      });
      client.on('tcpip', (_accept, reject) => reject());
      client.on('openssh.streamlocal', (_accept, reject) => reject());
      client.on('request', (_accept, reject) => reject?.());
    });
  });
  return Object.assign(server, { connections });
}
