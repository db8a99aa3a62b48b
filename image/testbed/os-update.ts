// The FALLBACK for EOS's /usr/sbin/os-update where EOS's own script cannot run (README.md, "The
// fallback stand-in"). Our reading of it (bash, set -e, getopt long options only). Same options,
// same precedence of modes, same stdout lines and exit codes, same two ssh command strings. The
// differences are only where a directory replaces hardware: findmnt/blkid/findfs read the device
// dir, dd writes a partition file that cannot grow, kexec/reboot ask the device's supervisor,
// grub2-mkimage writes a grub image stand-in that carries earlyboot.cfg.
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, open, readFile, readlink, rm } from 'node:fs/promises';
import path from 'node:path';
import { type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse as parseYaml } from 'yaml';
import { ROOT_SLOTS, type RootSlot } from '@eos-fleet/shared';
import { goDown, loadKexecImage } from './boot-control';
import { ddWrite } from './dd-writer';
import {
  devicePaths,
  earlybootCfg,
  efiImageName,
  otherSlot,
  readDeviceConfig,
  writeFileAtomic,
  type DeviceConfig,
} from './device-layout';

const UPDATE_PATH = '/srv/www/fleet/os-images';
const CHUNK_SIZE = 10 * 1024 * 1024;
const LONG_OPTIONS: Record<string, boolean> = {
  check: false,
  commit: false,
  rollback: false,
  reboot: false,
  read: true,
  apply: false,
  firmware: false,
  server: true,
  pkey: true,
};

export interface OsUpdateIo {
  stdout: Writable;
  stderr: Writable;
}

class ExitError extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function usage(io: OsUpdateIo): void {
  io.stdout.write(
    [
      'os-update',
      '  --read <stream_name> --server <user@server> --pkey <pkey>',
      '      Read stream_name from user@server via ssh',
      '  --check',
      '      Check if the update OS is different from running OS',
      '      Use data from /etc/os-update.yml',
      '  --apply',
      '      Read checks and apply the update to the system',
      '      Use data from /etc/os-update.yml',
      '  --firmware',
      '      Read checks and apply the new firmware to the system',
      '      Use data from /etc/os-update.yml',
      '      NOTE: no rollback implemented for firmware updates',
      '  --commit',
      '      Commit current running OS to be the default',
      '  --rollback',
      '      Rollback to former OS',
      '  --reboot',
      '      Reboot after commit or rollback',
      '',
      '',
    ].join('\n'),
  );
}

interface Args {
  check?: boolean;
  commit?: boolean;
  rollback?: boolean;
  reboot?: boolean;
  apply?: boolean;
  firmware?: boolean;
  read?: string;
  server?: string;
  pkey?: string;
}

/** util-linux getopt with --options "" and long options: unique prefixes, `--x=v` and `--x v`. */
export function parseOsUpdateArgs(argv: string[]): { args: Args } | { error: string } {
  const args: Args = {};
  const set = (name: string, value: string | undefined): void => {
    if (name === 'read' || name === 'server' || name === 'pkey') args[name] = value ?? '';
    else (args as Record<string, boolean>)[name] = true;
  };
  for (let index = 0; index < argv.length; index++) {
    const word = argv[index] ?? '';
    if (word === '--') break;
    if (!word.startsWith('-') || word === '-') continue;
    if (!word.startsWith('--'))
      return { error: `os-update: invalid option -- '${word.slice(1, 2)}'` };
    const [rawName = '', inlineValue] = word.slice(2).split(/=(.*)/s, 2);
    const candidates = Object.keys(LONG_OPTIONS).filter((option) => option.startsWith(rawName));
    const name = candidates.includes(rawName)
      ? rawName
      : candidates.length === 1
        ? candidates[0]
        : undefined;
    if (candidates.length > 1 && name === undefined) {
      const possibilities = candidates.map((option) => `'--${option}'`).join(' ');
      return {
        error: `os-update: option '--${rawName}' is ambiguous; possibilities: ${possibilities}`,
      };
    }
    if (name === undefined) return { error: `os-update: unrecognized option '${word}'` };
    if (LONG_OPTIONS[name]) {
      if (inlineValue !== undefined) set(name, inlineValue);
      else if (index + 1 < argv.length) set(name, argv[++index]);
      else return { error: `os-update: option '--${name}' requires an argument` };
    } else {
      if (inlineValue !== undefined)
        return { error: `os-update: option '--${name}' doesn't allow an argument` };
      set(name, undefined);
    }
  }
  return { args };
}

interface Context {
  dir: string;
  config: DeviceConfig;
  io: OsUpdateIo;
  args: Args;
}

function sshEnv(dir: string): NodeJS.ProcessEnv {
  const paths = devicePaths(dir);
  return {
    ...process.env,
    PATH: `${paths.usrSbin}:${paths.usrBin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
  };
}

/** `ssh -i PKEY -o ... SERVER "CMD"`, resolved on the device PATH (its ssh wrapper sets the port). */
function ssh(context: Context, command: string, stdout: 'pipe' | 'ignore'): ChildProcess {
  const { args, dir } = context;
  return spawn(
    'ssh',
    [
      '-i',
      args.pkey ?? '',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      args.server ?? '',
      command,
    ],
    { stdio: ['ignore', stdout, 'inherit'], env: sshEnv(dir) },
  );
}

/** The exit status of a child, also when it has already exited. */
function exitCodeOf(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(128);
  return new Promise((resolve) => {
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

function readStream(context: Context, suffix: string): ChildProcess {
  return ssh(context, `sudo cat ${UPDATE_PATH}/${context.args.read ?? ''}${suffix}`, 'pipe');
}

function stdoutOf(child: ChildProcess): Readable {
  if (!child.stdout) throw new Error('ssh stdout is not piped');
  return child.stdout;
}

/** `yq '.update.KEY'`: a missing key prints `null`, which os-update then takes as a value. */
function yq(document: unknown, key: string): string {
  const update = (document as { update?: Record<string, unknown> } | null)?.update;
  const value = update?.[key];
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

async function prepare(context: Context): Promise<void> {
  const { args, io } = context;
  let pkey = '';
  let server = '';
  let name = '';
  const ymlPath = devicePaths(context.dir).osUpdateYml;
  const yml = await readFile(ymlPath, 'utf8').catch(() => undefined);
  if (yml !== undefined) {
    const document: unknown = parseYaml(yml);
    pkey = yq(document, 'pkey');
    server = yq(document, 'server');
    name = yq(document, 'name');
  }
  if (!args.read && name) args.read = name;
  else if (!args.read) {
    io.stdout.write('No image name provided, use --read\n');
    throw new ExitError(1);
  }
  if (!args.server && server) args.server = server;
  else if (!args.server) {
    io.stdout.write('No update server provided, use --server\n');
    throw new ExitError(1);
  }
  if (!args.pkey && pkey) args.pkey = pkey;
  else if (!args.pkey) {
    io.stdout.write('No ssh pkey provided, use --pkey\n');
    throw new ExitError(1);
  }
  const reachable = await exitCodeOf(
    ssh(context, `test -e ${UPDATE_PATH}/${args.read}.raw.dev`, 'ignore'),
  );
  if (reachable !== 0) throw new ExitError(1);
}

/** `findmnt -n -o SOURCE /`: the booted slot, from the device's /dev/root link. */
async function currentRoot(context: Context): Promise<{ device: string; slot: RootSlot }> {
  const link = await readlink(devicePaths(context.dir).rootDevice).catch(() => undefined);
  const slot = ROOT_SLOTS.find((label) => link !== undefined && path.basename(link) === label);
  if (link === undefined || slot === undefined) {
    context.io.stderr.write('findmnt: can not find root mount: device is not booted\n');
    throw new ExitError(1);
  }
  return { device: devicePaths(context.dir).slotFile(slot), slot };
}

/** sha1 of at most the first 10 MiB of a stream, then stop reading it. */
async function prefixHash(stream: Readable): Promise<string> {
  const hash = createHash('sha1');
  let remaining = CHUNK_SIZE;
  for await (const chunk of stream) {
    const data = chunk as Buffer;
    const part = data.subarray(0, remaining);
    hash.update(part);
    remaining -= part.length;
    if (remaining <= 0) break;
  }
  stream.destroy();
  return hash.digest('hex');
}

async function filePrefixHash(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK_SIZE);
    const { bytesRead } = await handle.read(buffer, 0, CHUNK_SIZE, 0);
    return createHash('sha1').update(buffer.subarray(0, bytesRead)).digest('hex');
  } finally {
    await handle.close();
  }
}

/** check(): returns 0 when the stream equals the running OS, 1 otherwise. */
async function check(context: Context, stream: ChildProcess): Promise<0 | 1> {
  const { device } = await currentRoot(context);
  const current = await filePrefixHash(device);
  const update = await prefixHash(stdoutOf(stream));
  // A shell pipeline waits for both ends: ssh ends once it finds nobody reading its output.
  await exitCodeOf(stream);
  context.io.stdout.write(`Current OS: ${current}  -\n`);
  context.io.stdout.write(`Update OS : ${update}  -\n`);
  if (current === update) {
    context.io.stdout.write('Update stream not different from current OS\n');
    return 0;
  }
  return 1;
}

async function ddInto(context: Context, target: string, stream: ChildProcess): Promise<void> {
  const result = await ddWrite({
    target,
    input: stdoutOf(stream),
    stderr: context.io.stderr,
    progressIntervalMs: context.config.dd.progressIntervalMs,
    ...(context.config.dd.bytesPerSecond === undefined
      ? {}
      : { bytesPerSecond: context.config.dd.bytesPerSecond }),
  });
  if (result.exitCode !== 0) {
    stream.kill();
    throw new ExitError(1);
  }
}

async function update(context: Context, stream: ChildProcess): Promise<never> {
  const { config, dir, io } = context;
  const paths = devicePaths(dir);
  const current = await currentRoot(context);
  const updateSlot = otherSlot(current.slot);
  const updateRoot = paths.slotFile(updateSlot);
  const currentPartuuid = config.slots[current.slot].partuuid;
  const updatePartuuid = config.slots[updateSlot].partuuid;
  io.stdout.write(`Using ${updateRoot} for update...\n`);
  await ddInto(context, updateRoot, stream);
  const cmdline = (await readFile(paths.cmdline, 'utf8')).replace(/\n+$/, '');
  const newCmdline = cmdline.replace(
    `root=PARTUUID=${currentPartuuid}`,
    `root=PARTUUID=${updatePartuuid}`,
  );
  const kernel = config.arch === 'aarch64' ? '/mnt/boot/Image' : '/mnt/boot/vmlinuz';
  await loadKexecImage(dir, {
    kernel,
    initrd: '/mnt/boot/initrd',
    cmdline: `${newCmdline} COMMIT_UPDATE`,
  });
  io.stdout.write('kexec into updated system...\n');
  return goDown(dir, 'kexec');
}

/** earlyboot.cfg, then grub2-mkimage: the grub image stand-in embeds the config it was built with. */
async function writeBootSelection(context: Context, slot: RootSlot): Promise<void> {
  const { config, dir } = context;
  const paths = devicePaths(dir);
  const cfg = earlybootCfg(config.bootUuid[slot] ?? '', config.slots[slot].partuuid);
  await mkdir(paths.efiBootDir, { recursive: true });
  await writeFileAtomic(paths.earlybootCfg, cfg);
  const efiImage = `# testbed stand-in for a grub2-mkimage ${config.arch}-efi image, embedded config:\n${cfg}`;
  await writeFileAtomic(path.join(paths.efiBootDir, efiImageName(config.arch)), efiImage);
}

async function commit(context: Context): Promise<void> {
  const cmdline = await readFile(devicePaths(context.dir).cmdline, 'utf8').catch(() => '');
  if (!cmdline.includes('COMMIT_UPDATE')) return;
  const current = await currentRoot(context);
  await writeBootSelection(context, current.slot);
  if (context.args.reboot) await goDown(context.dir, 'reboot-forced');
}

async function rollback(context: Context): Promise<void> {
  const current = await currentRoot(context);
  const rollbackSlot = otherSlot(current.slot);
  context.io.stdout.write(
    `Using ${devicePaths(context.dir).slotFile(rollbackSlot)} for rollback...\n`,
  );
  await writeBootSelection(context, rollbackSlot);
  if (context.args.reboot) await goDown(context.dir, 'reboot-forced');
}

async function updateFirmware(context: Context, stream: ChildProcess): Promise<void> {
  const paths = devicePaths(context.dir);
  const backup = path.join(paths.run, 'EFI');
  await rm(backup, { recursive: true, force: true });
  await cp(path.join(paths.espMount, 'EFI'), backup, { recursive: true });
  context.io.stdout.write(`Using ${paths.espPartition} for update...\n`);
  await ddInto(context, paths.espPartition, stream);
  await cp(backup, path.join(paths.espMount, 'EFI'), { recursive: true });
  context.io.stdout.write('Firmware update done, reboot required !\n');
}

async function run(context: Context): Promise<number> {
  const { args } = context;
  if (args.commit) {
    await commit(context);
    return 0;
  }
  if (args.rollback) {
    await rollback(context);
    return 0;
  }
  if (args.check) {
    await prepare(context);
    return check(context, readStream(context, '.raw.dev'));
  }
  if (args.read && args.server && args.pkey) {
    // The script calls read_stream without a suffix here: it cats NAME itself.
    const stream = ssh(context, `sudo cat ${UPDATE_PATH}/${args.read}`, 'pipe');
    const code = exitCodeOf(stream);
    await pipeline(stdoutOf(stream), context.io.stdout, { end: false });
    return code;
  }
  if (args.apply) {
    await prepare(context);
    if ((await check(context, readStream(context, '.raw.dev'))) !== 0) {
      await update(context, readStream(context, '.raw.dev'));
    }
    return 0;
  }
  if (args.firmware) {
    await prepare(context);
    await updateFirmware(context, readStream(context, '.raw.firmware'));
    return 0;
  }
  usage(context.io);
  return 0;
}

/** Runs os-update for the device in `dir`; resolves to the exit code (never, after a kexec). */
export async function osUpdateMain(dir: string, argv: string[], io: OsUpdateIo): Promise<number> {
  const parsed = parseOsUpdateArgs(argv);
  if ('error' in parsed) {
    io.stderr.write(`${parsed.error}\n`);
    usage(io);
    return 1;
  }
  const config = await readDeviceConfig(dir);
  try {
    return await run({ dir, config, io, args: parsed.args });
  } catch (error) {
    if (error instanceof ExitError) return error.code;
    throw error;
  }
}
