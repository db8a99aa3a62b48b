// A device laid out in a temp dir the way the agent sees EOS: two slot files behind by-partuuid
// and by-partlabel links, /proc/cmdline and boot_id files, os-update.yml, os-release, a flakes
// dir, and stub executables for os-update, fleet and flake-ctl. Used only until the EOS testbed
// (image/testbed) provides its stand-ins.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentConfig, agentConfigSchema } from '@eos-fleet/shared/agent-config';
import { type RootSlot } from '@eos-fleet/shared/domain';

const SLOT_FILES: Record<RootSlot, string> = {
  'p.lxreadonly': 'slot-a.img',
  'p.lxrootclone1': 'slot-b.img',
};

export class FakeDevice {
  readonly partUuids: Record<RootSlot, string> = {
    'p.lxreadonly': randomUUID(),
    'p.lxrootclone1': randomUUID(),
  };
  bootId = randomUUID();

  private constructor(readonly dir: string) {}

  static async create(): Promise<FakeDevice> {
    const device = new FakeDevice(await mkdtemp(join(tmpdir(), 'eos-agent-')));
    await device.setup();
    return device;
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  private async setup(): Promise<void> {
    for (const sub of [
      'disk/by-partuuid',
      'disk/by-partlabel',
      'proc',
      'etc',
      'flakes',
      'bin',
      'state',
      'stub',
    ]) {
      await mkdir(this.path(sub), { recursive: true });
    }
    for (const [slot, file] of Object.entries(SLOT_FILES) as [RootSlot, string][]) {
      await writeFile(this.path(file), randomBytes(64 * 1024));
      await symlink(this.path(file), this.path('disk/by-partuuid', this.partUuids[slot]));
      await symlink(this.path(file), this.path('disk/by-partlabel', slot));
    }
    await writeFile(
      this.path('etc/os-update.yml'),
      'update:\n  pkey: /run/id_fleet\n  server: ec2-user@update.example.org\n  name: EOS.x86_64-AB-TW\n',
    );
    await writeFile(
      this.path('etc/os-release'),
      'NAME="EOS"\nID=eos\nVERSION_ID="1.0"\nPRETTY_NAME="SUSE EOS 1.0"\n',
    );
    await this.boot('p.lxreadonly', false);
    await this.writeStubs();
    await this.setCheck('same');
  }

  /** Simulates a boot into `slot`: new boot id, cmdline with root=PARTUUID and maybe COMMIT_UPDATE. */
  async boot(slot: RootSlot, commitPending: boolean): Promise<void> {
    this.bootId = randomUUID();
    await writeFile(this.path('proc/boot_id'), `${this.bootId}\n`);
    await writeFile(
      this.path('proc/cmdline'),
      `BOOT_IMAGE=/boot/vmlinuz root=PARTUUID=${this.partUuids[slot]} rd.kiwi.install.pass.bootparam${commitPending ? ' COMMIT_UPDATE' : ''}\n`,
    );
  }

  async slotHash(slot: RootSlot): Promise<string> {
    return createHash('sha1')
      .update(await readFile(this.path(SLOT_FILES[slot])))
      .digest('hex');
  }

  slotPath(slot: RootSlot): string {
    return this.path(SLOT_FILES[slot]);
  }

  /** While held, `os-update --check` and `flake-ctl` wait (a long-running tool) until released. */
  async holdTools(): Promise<void> {
    await writeFile(this.path('stub/hold'), '');
  }

  async releaseTools(): Promise<void> {
    await rm(this.path('stub/hold'), { force: true });
  }

  async writeOsRelease(text: string): Promise<void> {
    await writeFile(this.path('etc/os-release'), text);
  }

  /** Writes new content into a slot (what dd does during apply); returns its root prefix hash. */
  async writeSlot(slot: RootSlot, content: Buffer): Promise<string> {
    await writeFile(this.path(SLOT_FILES[slot]), content);
    return this.slotHash(slot);
  }

  /** What `os-update --check` prints next: same image, an update with `updateHash`, or an error. */
  async setCheck(mode: 'same' | 'error' | { updateHash: string }): Promise<void> {
    const current = await this.slotHash('p.lxreadonly');
    const text =
      mode === 'same'
        ? `Current OS: ${current}  -\nUpdate OS : ${current}  -\nUpdate stream not different from current OS\n`
        : mode === 'error'
          ? 'ssh: connect to host update.example.org port 22: Connection refused\n'
          : `Current OS: ${current}  -\nUpdate OS : ${mode.updateHash}  -\n`;
    await writeFile(this.path('stub/check.stdout'), text);
    await writeFile(this.path('stub/check.exit'), mode === 'same' ? '0' : '1');
  }

  /** apply either "kexecs" (prints the line and hangs until killed) or fails like a full slot. */
  async setApply(mode: 'kexec' | 'no-space'): Promise<void> {
    await writeFile(this.path('stub/apply.mode'), mode);
  }

  /** The pid of the os-update --apply stand-in that is "kexecing" (null before it got there). */
  async applyPid(): Promise<number | null> {
    const text = await readFile(this.path('stub/apply.pid'), 'utf8').catch(() => '');
    return /^\d+/.test(text) ? Number.parseInt(text, 10) : null;
  }

  async calls(): Promise<string[]> {
    try {
      return (await readFile(this.path('stub/calls.log'), 'utf8')).split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  private async writeStubs(): Promise<void> {
    const stub = this.path('stub');
    const scripts: Record<string, string> = {
      'os-update': `#!/bin/sh
echo "os-update $*" >> ${stub}/calls.log
case " $* " in
  *" --check "*)
    while [ -e ${stub}/hold ]; do sleep 0.05; done
    cat ${stub}/check.stdout; exit $(cat ${stub}/check.exit) ;;
  *" --apply "*)
    cat ${stub}/check.stdout
    printf '1048576 bytes (1.0 MB, 1.0 MiB) copied, 1 s, 1.0 MB/s\\r' >&2
    printf '2097152 bytes (2.1 MB, 2.0 MiB) copied, 2 s, 1.0 MB/s\\r' >&2
    if [ "$(cat ${stub}/apply.mode)" = no-space ]; then
      echo "dd: error writing '/dev/disk/by-partlabel/p.lxrootclone1': No space left on device" >&2
      exit 1
    fi
    echo "kexec into updated system..."
    echo $$ > ${stub}/apply.pid
    exec sleep 600 ;;
  *" --rollback "*) exit 0 ;;
  *" --reboot "*) exit 0 ;;
esac
exit 3
`,
      fleet: `#!/bin/sh
echo "fleet $*" >> ${stub}/calls.log
exit 0
`,
      'flake-ctl': `#!/bin/sh
echo "flake-ctl $*" >> ${stub}/calls.log
while [ -e ${stub}/hold ]; do sleep 0.05; done
if [ "$1 $2" = "podman register" ]; then
  printf 'container:\\n  name: %s\\n  target_app_path: /usr/bin/joe\\n  host_app_path: %s\\n' "$4" "$6" > ${this.path('flakes')}/$(basename "$6").yaml
fi
if [ "$1 $2" = "podman remove" ]; then rm -f ${this.path('flakes')}/$(basename "$4").yaml; fi
exit 0
`,
    };
    for (const [name, text] of Object.entries(scripts)) {
      await writeFile(this.path('bin', name), text);
      await chmod(this.path('bin', name), 0o755);
    }
    await this.setApply('kexec');
  }

  config(url: string, overrides: Partial<Record<string, unknown>> = {}): AgentConfig {
    return agentConfigSchema.parse({
      server: { url, enrollmentToken: 'demo-token' },
      stateDir: this.path('state'),
      paths: {
        osUpdate: this.path('bin/os-update'),
        fleet: this.path('bin/fleet'),
        flakeCtl: this.path('bin/flake-ctl'),
        diskByDir: this.path('disk'),
        flakesDir: this.path('flakes'),
        osUpdateConfig: this.path('etc/os-update.yml'),
        cmdline: this.path('proc/cmdline'),
        bootId: this.path('proc/boot_id'),
        osRelease: this.path('etc/os-release'),
        commitGateReport: this.path('gate/last-result'),
      },
      reconnect: { initialDelayMs: 50, maxDelayMs: 200, firstConnectJitterMs: 0 },
      inventoryIntervalMs: 1000,
      ...overrides,
    });
  }

  async remove(): Promise<void> {
    // A stopped agent may still finish a journal write (temp file, rename) into its state dir:
    // retry instead of failing the test's clean-up on ENOTEMPTY.
    await rm(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }
}
