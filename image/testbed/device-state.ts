// Read-outs of a testbed device for tests and the CLI: what runs, what the ESP would boot next,
// and the boot history. Written by the supervisor, read by anyone.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { type RootSlot } from '@eos-fleet/shared';
import {
  bootSelectionOf,
  devicePaths,
  efiImageName,
  readDeviceConfig,
  slotByPartuuid,
  writeFileAtomic,
} from './device-layout';

export type BootKind = 'power-on' | 'kexec' | 'reboot' | 'power-cycle';
/** `hung`: a fault made the boot stop before update_commit.service (see TestbedFaults). */
export type DevicePhase =
  'off' | 'booting' | 'running' | 'rebooting' | 'halting' | 'boot-failed' | 'hung';

/**
 * The network between the device and its update server drops a `sudo cat` stream (os-update's
 * `read_stream`): the device's ssh wrapper (network.ts) passes only the first `bytes` bytes of
 * the stream to os-update, then the connection is gone (ssh ends, exit 255).
 */
export interface CutStreamFault {
  /** Bytes that arrive before the connection drops. */
  bytes: number;
  /**
   * Which `sudo cat` stream, counted from 1 since the faults were last set; every stream when
   * absent. An agent's apply makes three: its own `--check`, then `--apply`'s check and its write.
   */
  nth?: number;
}

/** Failures a test can inject; they hold until changed. */
export interface TestbedFaults {
  /** A kexec boot (after os-update --apply) hangs before the commit: only a power cycle helps. */
  hangAfterKexec?: boolean;
  cutStream?: CutStreamFault;
}

export async function readTestbedFaults(dir: string): Promise<TestbedFaults> {
  return readFile(devicePaths(dir).faults, 'utf8').then(
    (text) => JSON.parse(text) as TestbedFaults,
    () => ({}),
  );
}

/** Sets the faults (compact JSON on one line: the ssh wrapper reads it with sed); restarts the stream count. */
export async function setTestbedFaults(dir: string, faults: TestbedFaults): Promise<void> {
  const paths = devicePaths(dir);
  await rm(paths.streamCount, { force: true });
  await writeFileAtomic(paths.faults, `${JSON.stringify(faults)}\n`);
}

export interface BootRecord {
  bootCount: number;
  bootId: string;
  kind: BootKind;
  /** Slot the kernel was given as root; null when the boot selection names no slot. */
  slot: RootSlot | null;
  cmdline: string;
  bootedAt: string;
}

/** The commit gate of this boot: checking, passed (commit follows) or failed (not committed). */
export type CommitGateState = 'checking' | 'passed' | 'failed';

export interface DeviceState extends Partial<BootRecord> {
  bootCount: number;
  phase: DevicePhase;
  commitGate?: CommitGateState;
  currentSlot?: RootSlot | null;
  supervisorPid?: number;
}

export interface TestbedStatus {
  phase: DevicePhase;
  bootCount: number;
  bootId: string | undefined;
  cmdline: string | undefined;
  /** The booted root slot (from /proc/cmdline's root=PARTUUID=). */
  currentSlot: RootSlot | undefined;
  /** The slot the ESP's grub image boots after a reboot or power cycle. */
  bootSelection: RootSlot | undefined;
  /** COMMIT_UPDATE on the command line: booted by kexec after an apply, not committed yet. */
  commitPending: boolean;
  /** Only on a gated COMMIT_UPDATE boot. */
  commitGate: CommitGateState | undefined;
  supervisorPid: number | undefined;
}

export async function readTestbedStatus(dir: string): Promise<TestbedStatus> {
  const paths = devicePaths(dir);
  const config = await readDeviceConfig(dir);
  const state = await readFile(paths.state, 'utf8')
    .then((text) => JSON.parse(text) as DeviceState)
    .catch((): DeviceState => ({ bootCount: 0, phase: 'off' }));
  const running = state.phase !== 'off';
  const cmdline = running
    ? await readFile(paths.cmdline, 'utf8').then(
        (text) => text.trim(),
        () => undefined,
      )
    : undefined;
  const bootId = running
    ? await readFile(paths.bootId, 'utf8').then(
        (text) => text.trim(),
        () => undefined,
      )
    : undefined;
  const efiImage = await readFile(
    path.join(paths.efiBootDir, efiImageName(config.arch)),
    'utf8',
  ).catch(() => '');
  const selected = bootSelectionOf(efiImage);
  return {
    phase: state.phase,
    bootCount: state.bootCount,
    bootId,
    cmdline,
    currentSlot: running ? (state.currentSlot ?? undefined) : undefined,
    bootSelection: selected === undefined ? undefined : slotByPartuuid(config, selected),
    commitPending: cmdline?.includes('COMMIT_UPDATE') ?? false,
    commitGate: running ? state.commitGate : undefined,
    supervisorPid: running ? state.supervisorPid : undefined,
  };
}

export async function readBootLog(dir: string): Promise<BootRecord[]> {
  const text = await readFile(devicePaths(dir).bootLog, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as BootRecord);
}
