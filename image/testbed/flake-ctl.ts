// Stand-in for flake-pilot's flake-ctl (podman and firecracker engines): the same subcommands and
// options, the same files (<flakes dir>/<app>.yaml, <app>.d/, the app symlink to the pilot), the
// same list output in the old (`- name`) and the newer (`--format table|json|csv`) style, the same
// error texts and exit codes. Log lines mimic env_logger (`[time LEVEL module] text` on stderr).
// Nothing is downloaded: `pull` records the image in a store in the device's state area, and fails
// like podman (exit 125) for a URI the device config lists as unavailable.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync } from 'node:fs';
import {
  mkdir,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { type Writable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import {
  devicePaths,
  readDeviceConfig,
  writeFileAtomic,
  type DeviceConfig,
  type DevicePaths,
} from './device-layout';
import { containerFlakeYaml, vmFlakeYaml } from './flake-yaml';

interface Io {
  stdout: Writable;
  stderr: Writable;
}

interface Context {
  dir: string;
  paths: DevicePaths;
  config: DeviceConfig;
  io: Io;
}

class UsageError extends Error {}

function log(io: Io, level: 'INFO' | 'WARN' | 'ERROR', module: string, text: string): void {
  const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  io.stderr.write(`[${time} ${level.padEnd(5)} ${module}] ${text}\n`);
}

/** Rust's `{:?}` of a string. */
function debugString(value: string): string {
  return JSON.stringify(value);
}

interface ParsedOptions {
  values: Map<string, string[]>;
  flags: Set<string>;
}

/** clap-style long options: `--name value`, `--name=value`, repeatable values, bare flags. */
function parseOptions(
  argv: string[],
  valued: readonly string[],
  flags: readonly string[],
  usage: string,
): ParsedOptions {
  const parsed: ParsedOptions = { values: new Map(), flags: new Set() };
  for (let index = 0; index < argv.length; index++) {
    const word = argv[index] ?? '';
    const [name = '', inline] = word.startsWith('--') ? word.slice(2).split(/=(.*)/s, 2) : [''];
    if (valued.includes(name)) {
      const value = inline ?? argv[++index];
      // clap takes a word starting with "-" for an option, hence flake-pilot's '\-x' escapes.
      if (value === undefined || (inline === undefined && value.startsWith('-'))) {
        throw new UsageError(
          `error: The argument '--${name} <${name.toUpperCase().replace(/-/g, '_')}>' requires a value but none was supplied\n\nUSAGE:\n    ${usage}\n\nFor more information try --help`,
        );
      }
      parsed.values.set(name, [...(parsed.values.get(name) ?? []), value]);
    } else if (flags.includes(name) && inline === undefined) {
      parsed.flags.add(name);
    } else {
      throw new UsageError(
        `error: Found argument '${word}' which wasn't expected, or isn't valid in this context\n\nUSAGE:\n    ${usage}\n\nFor more information try --help`,
      );
    }
  }
  return parsed;
}

function required(options: ParsedOptions, name: string, usage: string): string {
  const value = options.values.get(name)?.at(-1);
  if (value === undefined) {
    throw new UsageError(
      `error: The following required arguments were not provided:\n    --${name} <${name.toUpperCase().replace(/-/g, '_')}>\n\nUSAGE:\n    ${usage}\n\nFor more information try --help`,
    );
  }
  return value;
}

function optional(options: ParsedOptions, name: string): string | undefined {
  return options.values.get(name)?.at(-1);
}

function many(options: ParsedOptions, name: string): string[] | undefined {
  return options.values.get(name);
}

function appBasename(app: string): string {
  return path.basename(app);
}

function configFile(context: Context, app: string): string {
  return path.join(context.paths.flakesDir, `${appBasename(app)}.yaml`);
}

function configDir(context: Context, app: string): string {
  return path.join(context.paths.flakesDir, `${appBasename(app)}.d`);
}

/** Testbed guard: a flake app must live inside the device directory, never on the host. */
function insideDevice(context: Context, app: string): boolean {
  const relative = path.relative(context.paths.root, app);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

/** app::init: the app path must not exist yet; the flakes dir is created. */
async function init(context: Context, app: string): Promise<boolean> {
  if (existsSync(app)) {
    log(context.io, 'ERROR', 'flake_ctl::app', `App path ${app} already exists`);
    return false;
  }
  await mkdir(context.paths.flakesDir, { recursive: true });
  return true;
}

/** app::register: the app symlink to the pilot and the app's config directory. */
async function register(
  context: Context,
  app: string,
  target: string | undefined,
  engine: string,
): Promise<boolean> {
  for (const candidate of [app, target ?? app]) {
    if (!candidate.startsWith('/')) {
      log(
        context.io,
        'ERROR',
        'flake_ctl::app',
        `Application ${debugString(candidate)} must be specified with an absolute path`,
      );
      return false;
    }
  }
  if (!insideDevice(context, app)) {
    log(
      context.io,
      'ERROR',
      'flake_ctl::app',
      `Application ${debugString(app)} is outside the testbed device ${context.paths.root}`,
    );
    return false;
  }
  log(context.io, 'INFO', 'flake_ctl::app', `Registering application: ${app}`);
  try {
    await mkdir(path.dirname(app), { recursive: true });
  } catch (error) {
    log(
      context.io,
      'ERROR',
      'flake_ctl::app',
      `Failed creating: ${path.dirname(app)}: ${String(error)}`,
    );
    return false;
  }
  try {
    await symlink(engine, app);
  } catch (error) {
    log(
      context.io,
      'ERROR',
      'flake_ctl::app',
      `Error while creating symlink "${app} -> ${engine}": ${String(error)}`,
    );
    return false;
  }
  await mkdir(configDir(context, app), { recursive: true });
  return true;
}

/** app::remove: the app link (only if it points to this engine's pilot), its yaml and .d dir. */
async function remove(
  context: Context,
  app: string,
  engine: string,
  silent: boolean,
  force: boolean,
): Promise<boolean> {
  const error = (text: string): false => {
    if (!silent) log(context.io, 'ERROR', 'flake_ctl::app', text);
    return false;
  };
  if (!app.startsWith('/'))
    return error(`Application ${debugString(app)} must be specified with an absolute path`);
  if (!silent) log(context.io, 'INFO', 'flake_ctl::app', `Removing application: ${app}`);
  const file = configFile(context, app);
  const dir = configDir(context, app);
  const fileExists = existsSync(file);
  const dirExists = existsSync(dir);
  if (!force) {
    if (!fileExists) return error(`No app config file found: ${file}, consider --force`);
    if (!dirExists) return error(`No app directory found: ${dir}, consider --force`);
    let linkTarget: string;
    try {
      linkTarget = await readlink(app);
    } catch (cause) {
      return error(`Failed to read as symlink: ${app}: ${String(cause)}`);
    }
    if (linkTarget !== engine) return error(`Symlink not pointing to ${engine}: ${app}`);
    await unlink(app);
  } else if (isPresent(app)) {
    await rm(app, { force: true });
  }
  if (fileExists) await rm(file, { force: true });
  if (dirExists) await rm(dir, { recursive: true, force: true });
  return true;
}

function isPresent(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

interface FlakeInfo {
  name: string;
  engine: string | null;
  target: string | null;
  host_app_path: string | null;
  config: string;
}

interface FlakeDocument {
  container?: { name?: string; target_app_path?: string; host_app_path?: string } | null;
  vm?: { name?: string; target_app_path?: string; host_app_path?: string } | null;
}

/** app::app_names: the part before the first dot of every *.yaml in the flakes dir, sorted. */
async function appNames(context: Context): Promise<string[]> {
  const entries = await readdir(context.paths.flakesDir).catch(() => [] as string[]);
  return entries
    .filter((entry) => entry.endsWith('.yaml'))
    .map((entry) => entry.split('.')[0] ?? entry)
    .sort();
}

async function readFlake(context: Context, name: string): Promise<FlakeDocument> {
  const text = await readFile(path.join(context.paths.flakesDir, `${name}.yaml`), 'utf8');
  return (parseYaml(text) ?? {}) as FlakeDocument;
}

async function flakeInfos(context: Context): Promise<FlakeInfo[]> {
  const infos: FlakeInfo[] = [];
  for (const name of await appNames(context)) {
    const document = await readFlake(context, name);
    const info: FlakeInfo = {
      name,
      engine: null,
      target: null,
      host_app_path: null,
      config: path.join(context.paths.flakesDir, `${name}.yaml`),
    };
    const section = document.container ?? document.vm;
    if (section) {
      info.engine = document.container ? 'podman' : 'firecracker';
      info.target = section.target_app_path ?? null;
      info.host_app_path = section.host_app_path ?? null;
    }
    infos.push(info);
  }
  return infos;
}

function table(headline: string[], rows: string[][]): string {
  const widths = headline.map((column) => column.length);
  for (const row of rows)
    row.forEach((value, column) => (widths[column] = Math.max(widths[column] ?? 0, value.length)));
  const line = (row: string[]) =>
    row
      .map((value, column) =>
        column + 1 === row.length ? value : `${value.padEnd(widths[column] ?? 0)}  `,
      )
      .join('');
  return (
    [line(headline), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n') +
    '\n'
  );
}

function csvField(value: string): string {
  return /[,"\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

async function list(context: Context, argv: string[]): Promise<number> {
  const legacy = context.config.flakeListStyle === 'legacy';
  const options = parseOptions(
    argv,
    legacy ? [] : ['format'],
    ['user'],
    legacy ? 'flake-ctl list [OPTIONS]' : 'flake-ctl list [OPTIONS]',
  );
  const { stdout } = context.io;
  if (legacy) {
    log(context.io, 'INFO', 'flake_ctl', 'Registered applications:');
    const names = await appNames(context);
    if (names.length === 0) stdout.write('No application(s) registered\n');
    for (const name of names) stdout.write(`- ${name}\n`);
    return 0;
  }
  const format = optional(options, 'format') ?? 'table';
  if (!['table', 'json', 'csv'].includes(format)) {
    throw new UsageError(
      `error: "${format}" isn't a valid value for '--format <FORMAT>'\n\t[possible values: table, json, csv]\n\nFor more information try --help`,
    );
  }
  const flakes = await flakeInfos(context);
  if (format === 'json') {
    stdout.write(`${JSON.stringify(flakes, null, 2)}\n`);
  } else if (format === 'csv') {
    for (const flake of flakes) {
      const fields = [
        flake.name,
        flake.engine ?? '',
        flake.target ?? '',
        flake.host_app_path ?? '',
        flake.config,
      ];
      stdout.write(`${fields.map(csvField).join(',')}\n`);
    }
  } else {
    stdout.write(`Flake applications registered in ${context.paths.flakesDir}\n\n`);
    if (flakes.length === 0) {
      stdout.write('No application(s) registered\n');
    } else {
      const rows = flakes.map((flake) => [
        flake.name,
        flake.engine ?? '-',
        flake.target ?? '-',
        flake.host_app_path ?? '-',
        flake.config,
      ]);
      stdout.write(table(['NAME', 'ENGINE', 'TARGET APP PATH', 'HOST APP PATH', 'CONFIG'], rows));
    }
  }
  return 0;
}

interface PodmanImage {
  uri: string;
  id: string;
  pulledAt: string;
}

async function readPodmanStore(context: Context): Promise<PodmanImage[]> {
  try {
    return JSON.parse(await readFile(context.paths.podmanStore, 'utf8')) as PodmanImage[];
  } catch {
    return [];
  }
}

function imageId(uri: string): string {
  return createHash('sha256').update(`testbed-image:${uri}`).digest('hex');
}

async function podmanPull(context: Context, uri: string): Promise<number> {
  const { io } = context;
  log(io, 'INFO', 'flake_ctl::podman', 'Fetching from registry...');
  log(io, 'INFO', 'flake_ctl::podman', `podman pull ${uri}`);
  io.stderr.write(`Trying to pull ${uri}...\n`);
  if (context.config.unavailablePulls.includes(uri)) {
    io.stderr.write(
      `Error: initializing source docker://${uri}: reading manifest latest in ${uri.replace(/:[^/:]*$/, '')}: manifest unknown\n`,
    );
    log(io, 'ERROR', 'flake_ctl::podman', 'Failed, error message(s) reported');
    return 125;
  }
  const id = imageId(uri);
  io.stderr.write(
    `Getting image source signatures\nCopying blob sha256:${id.slice(0, 64)}\nCopying config sha256:${id}\nWriting manifest to image destination\n`,
  );
  io.stdout.write(`${id}\n`);
  const store = (await readPodmanStore(context)).filter((image) => image.uri !== uri);
  store.push({ uri, id, pulledAt: new Date().toISOString() });
  await mkdir(path.dirname(context.paths.podmanStore), { recursive: true });
  await writeFileAtomic(context.paths.podmanStore, `${JSON.stringify(store, null, 2)}\n`);
  log(io, 'INFO', 'flake_ctl::podman', 'podman prune');
  return 0;
}

async function podmanImageRm(context: Context, container: string): Promise<void> {
  const { io } = context;
  log(io, 'INFO', 'flake_ctl::podman', 'Removing image and all running containers...');
  log(io, 'INFO', 'flake_ctl::podman', `podman rm -f ${container}`);
  const store = await readPodmanStore(context);
  const kept = store.filter(
    (image) => image.uri !== container && !image.uri.endsWith(`/${container}`),
  );
  if (kept.length === store.length) {
    io.stderr.write(`Error: ${container}: image not known\n`);
    log(io, 'ERROR', 'flake_ctl::podman', 'Failed, error message(s) reported');
    return;
  }
  await writeFileAtomic(context.paths.podmanStore, `${JSON.stringify(kept, null, 2)}\n`);
}

/** Apps whose flake config names the given container or VM. */
async function appsOf(context: Context, kind: 'container' | 'vm', name: string): Promise<string[]> {
  const apps: string[] = [];
  for (const app of await appNames(context)) {
    try {
      const section = (await readFlake(context, app))[kind];
      if (section?.name === name && section.host_app_path) apps.push(section.host_app_path);
    } catch (error) {
      log(
        context.io,
        'ERROR',
        'flake_ctl::app',
        `Ignoring error on load or parse flake config ${app}: ${String(error)}`,
      );
    }
  }
  return apps;
}

const PODMAN_REGISTER_USAGE =
  'flake-ctl podman register [OPTIONS] --container <CONTAINER> <--app <APP>|--info>';

async function podman(context: Context, argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const pilot = context.paths.podmanPilot;
  if (command === 'pull') {
    const options = parseOptions(rest, ['uri'], [], 'flake-ctl podman pull --uri <URI>');
    return podmanPull(context, required(options, 'uri', 'flake-ctl podman pull --uri <URI>'));
  }
  if (command === 'register') {
    const options = parseOptions(
      rest,
      ['container', 'app', 'target', 'base', 'layer', 'include-tar', 'include-path', 'opt'],
      ['check-host-dependencies', 'resume', 'attach', 'info', 'force'],
      PODMAN_REGISTER_USAGE,
    );
    const container = required(options, 'container', PODMAN_REGISTER_USAGE);
    if (options.flags.has('resume') && options.flags.has('attach')) {
      throw new UsageError(
        `error: The argument '--resume' cannot be used with '--attach'\n\nUSAGE:\n    ${PODMAN_REGISTER_USAGE}\n\nFor more information try --help`,
      );
    }
    if (options.flags.has('info')) {
      log(
        context.io,
        'ERROR',
        'flake_ctl::podman',
        `No info file ${path.basename(container)}.yaml found in container: ${container}`,
      );
      return 0;
    }
    const app = required(options, 'app', PODMAN_REGISTER_USAGE);
    const target = optional(options, 'target');
    if (options.flags.has('force') && app.startsWith('/'))
      await remove(context, app, pilot, true, true);
    if (!(await init(context, app))) return 1;
    let ok = await register(context, app, target, pilot);
    if (ok) {
      const base = optional(options, 'base');
      const layers = many(options, 'layer');
      if (base === undefined && layers !== undefined) {
        log(context.io, 'ERROR', 'flake_ctl::app', 'Layer(s) specified without a base');
        ok = false;
      } else {
        const includeTar = many(options, 'include-tar');
        const includePath = many(options, 'include-path');
        const opts = many(options, 'opt');
        await writeFile(
          configFile(context, app),
          containerFlakeYaml({
            container,
            targetAppPath: target ?? app,
            hostAppPath: app,
            checkHostDependencies: options.flags.has('check-host-dependencies'),
            resume: options.flags.has('resume'),
            attach: options.flags.has('attach'),
            runAs: userInfo().username,
            ...(base === undefined ? {} : { base }),
            ...(layers === undefined ? {} : { layers }),
            ...(includeTar === undefined ? {} : { includeTar }),
            ...(includePath === undefined ? {} : { includePath }),
            ...(opts === undefined ? {} : { opts }),
          }),
        );
      }
    }
    if (!ok) {
      // Undo the half registration (link, .d dir) so that a retry is not refused.
      await remove(context, app, pilot, true, true);
      return 1;
    }
    return 0;
  }
  if (command === 'remove') {
    const usage = 'flake-ctl podman remove <--container <CONTAINER>|--app <APP>>';
    const options = parseOptions(rest, ['container', 'app'], [], usage);
    const app = optional(options, 'app');
    const container = optional(options, 'container');
    if ((app === undefined) === (container === undefined)) {
      throw new UsageError(
        app === undefined
          ? `error: The following required arguments were not provided:\n    <--container <CONTAINER>|--app <APP>>\n\nUSAGE:\n    ${usage}\n\nFor more information try --help`
          : `error: The argument '--container <CONTAINER>' cannot be used with '--app <APP>'\n\nUSAGE:\n    ${usage}\n\nFor more information try --help`,
      );
    }
    if (app !== undefined) return (await remove(context, app, pilot, false, false)) ? 0 : 1;
    if (container !== undefined) {
      for (const registered of await appsOf(context, 'container', container))
        await remove(context, registered, pilot, false, false);
      await podmanImageRm(context, container);
    }
    return 0;
  }
  throw new UsageError(
    `error: Found argument '${command ?? ''}' which wasn't expected, or isn't valid in this context\n\nUSAGE:\n    flake-ctl podman <SUBCOMMAND>\n\nFor more information try --help`,
  );
}

async function firecrackerPull(context: Context, options: ParsedOptions): Promise<number> {
  const usage =
    'flake-ctl firecracker pull [OPTIONS] --name <NAME> <--kis-image <KIS_IMAGE>|--rootfs <ROOTFS>|--kernel <KERNEL>>';
  const name = required(options, 'name', usage);
  const kisImage = optional(options, 'kis-image');
  const rootfs = optional(options, 'rootfs');
  const kernel = optional(options, 'kernel');
  const initrd = optional(options, 'initrd');
  if (kisImage === undefined && (rootfs === undefined || kernel === undefined)) {
    throw new UsageError(
      `error: The following required arguments were not provided:\n    <--kis-image <KIS_IMAGE>|--rootfs <ROOTFS>|--kernel <KERNEL>>\n\nUSAGE:\n    ${usage}\n\nFor more information try --help`,
    );
  }
  if (
    kisImage !== undefined &&
    (rootfs !== undefined || kernel !== undefined || initrd !== undefined)
  ) {
    throw new UsageError(
      `error: The argument '--kis-image <KIS_IMAGE>' cannot be used with '--rootfs <ROOTFS>'\n\nUSAGE:\n    ${usage}\n\nFor more information try --help`,
    );
  }
  const imageDir = path.join(context.paths.firecrackerImages, name);
  if (existsSync(imageDir) && !options.flags.has('force')) {
    // Not in flake-pilot's sources we read: kept as a plain, testable refusal.
    log(
      context.io,
      'ERROR',
      'flake_ctl::firecracker',
      `Image ${name} already exists, use --force to pull it again`,
    );
    return 1;
  }
  const sources =
    kisImage !== undefined
      ? [kisImage]
      : [rootfs, kernel, initrd].filter((url): url is string => url !== undefined);
  for (const url of sources) {
    log(context.io, 'INFO', 'flake_ctl::firecracker', `Fetching: ${url}`);
    if (context.config.unavailablePulls.includes(url)) {
      log(
        context.io,
        'ERROR',
        'flake_ctl::firecracker',
        `Download failed with 404 Not Found: ${url}`,
      );
      return 1;
    }
  }
  await rm(imageDir, { recursive: true, force: true });
  await mkdir(imageDir, { recursive: true });
  const parts: [string, string | undefined][] =
    kisImage !== undefined
      ? [
          ['rootfs', kisImage],
          ['kernel', kisImage],
        ]
      : [
          ['rootfs', rootfs],
          ['kernel', kernel],
          ['initrd', initrd],
        ];
  for (const [part, url] of parts) {
    if (url !== undefined)
      await writeFile(path.join(imageDir, part), `testbed ${part} pulled from ${url}\n`);
  }
  await writeFile(
    path.join(imageDir, 'source_checksum'),
    `${createHash('sha256').update(sources.join('\n')).digest('hex')}\n`,
  );
  return 0;
}

async function firecracker(context: Context, argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const pilot = context.paths.firecrackerPilot;
  if (command === 'pull') {
    const usage = 'flake-ctl firecracker pull [OPTIONS] --name <NAME>';
    return firecrackerPull(
      context,
      parseOptions(rest, ['name', 'kis-image', 'rootfs', 'kernel', 'initrd'], ['force'], usage),
    );
  }
  if (command === 'register') {
    const usage = 'flake-ctl firecracker register [OPTIONS] --vm <VM> --app <APP>';
    const options = parseOptions(
      rest,
      ['vm', 'app', 'target', 'run-as', 'overlay-size', 'include-tar', 'include-path'],
      ['resume', 'force-vsock', 'no-net', 'force'],
      usage,
    );
    const vm = required(options, 'vm', usage);
    const app = required(options, 'app', usage);
    const target = optional(options, 'target');
    if (options.flags.has('force') && app.startsWith('/'))
      await remove(context, app, pilot, true, true);
    if (!(await init(context, app))) return 1;
    let ok = await register(context, app, target, pilot);
    if (ok) {
      const imageDir = path.join(context.paths.firecrackerImages, vm);
      const rootfs = path.join(imageDir, 'rootfs');
      const kernel = path.join(imageDir, 'kernel');
      const initrd = path.join(imageDir, 'initrd');
      const missing = !(await exists(rootfs))
        ? `No rootfs image found: ${rootfs}`
        : !(await exists(kernel))
          ? `No kernel image found: ${kernel}`
          : undefined;
      if (missing !== undefined) {
        log(
          context.io,
          'ERROR',
          'flake_ctl::app',
          `Failed to create AppConfig ${configFile(context, app)}: Custom { kind: NotFound, error: ${debugString(missing)} }`,
        );
        ok = false;
      } else {
        const includeTar = many(options, 'include-tar');
        const includePath = many(options, 'include-path');
        const runAs = optional(options, 'run-as');
        const overlaySize = optional(options, 'overlay-size');
        await writeFile(
          configFile(context, app),
          vmFlakeYaml({
            vm,
            targetAppPath: target ?? app,
            hostAppPath: app,
            noNet: options.flags.has('no-net'),
            resume: options.flags.has('resume'),
            forceVsock: options.flags.has('force-vsock'),
            rootfsImagePath: rootfs,
            kernelImagePath: kernel,
            ...((await exists(initrd)) ? { initrdPath: initrd } : {}),
            ...(runAs === undefined ? {} : { runAs }),
            ...(overlaySize === undefined ? {} : { overlaySize }),
            ...(includeTar === undefined ? {} : { includeTar }),
            ...(includePath === undefined ? {} : { includePath }),
          }),
        );
      }
    }
    if (!ok) {
      // Undo the half registration (link, .d dir) so that a retry is not refused.
      await remove(context, app, pilot, true, true);
      return 1;
    }
    return 0;
  }
  if (command === 'remove') {
    const usage = 'flake-ctl firecracker remove <--vm <VM>|--app <APP>>';
    const options = parseOptions(rest, ['vm', 'app'], [], usage);
    const app = optional(options, 'app');
    const vm = optional(options, 'vm');
    if ((app === undefined) === (vm === undefined)) {
      throw new UsageError(
        app === undefined
          ? `error: The following required arguments were not provided:\n    <--vm <VM>|--app <APP>>\n\nUSAGE:\n    ${usage}\n\nFor more information try --help`
          : `error: The argument '--vm <VM>' cannot be used with '--app <APP>'\n\nUSAGE:\n    ${usage}\n\nFor more information try --help`,
      );
    }
    if (app !== undefined) return (await remove(context, app, pilot, false, false)) ? 0 : 1;
    if (vm !== undefined) {
      for (const registered of await appsOf(context, 'vm', vm))
        await remove(context, registered, pilot, false, false);
      await rm(path.join(context.paths.firecrackerImages, vm), { recursive: true, force: true });
    }
    return 0;
  }
  throw new UsageError(
    `error: Found argument '${command ?? ''}' which wasn't expected, or isn't valid in this context\n\nUSAGE:\n    flake-ctl firecracker <SUBCOMMAND>\n\nFor more information try --help`,
  );
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

export async function flakeCtlMain(dir: string, argv: string[], io: Io): Promise<number> {
  const context: Context = {
    dir,
    paths: devicePaths(dir),
    config: await readDeviceConfig(dir),
    io,
  };
  const [command, ...rest] = argv;
  try {
    if (command === 'list') return await list(context, rest);
    if (command === 'podman')
      return await podman(
        context,
        rest.filter((word) => word !== '--user'),
      );
    if (command === 'firecracker') return await firecracker(context, rest);
    throw new UsageError(
      command === undefined
        ? 'flake-ctl\nManage Flake Applications\n\nUSAGE:\n    flake-ctl <SUBCOMMAND>\n\nSUBCOMMANDS:\n    firecracker    Load and register FireCracker VM applications\n    help           Print this message or the help of the given subcommand(s)\n    list           List registered flake applications\n    podman         Load and register OCI applications'
        : `error: Found argument '${command}' which wasn't expected, or isn't valid in this context\n\nUSAGE:\n    flake-ctl <SUBCOMMAND>\n\nFor more information try --help`,
    );
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
