// An audit event as a sentence a person reads ("alice@example.org accepted device EOS-3f0c").
// Pure (the page and the CSV export both use it); one entry per action of the closed list, so a
// new action does not compile until it can be told.
import type { AuditAction } from './audit-actions';

export interface AuditEventFacts {
  action: string;
  actorType: 'operator' | 'device' | 'system' | 'api_token';
  actorId: string | null;
  actorLabel: string | null;
  targetType: string;
  targetId: string | null;
  data: Record<string, unknown> | null;
}

function text(data: Record<string, unknown> | null, key: string): string | undefined {
  const value = data?.[key];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function shortId(id: string | null): string {
  return id ? id.slice(0, 8) : 'unknown';
}

function actorOf(event: AuditEventFacts): string {
  if (event.actorType === 'system')
    return event.actorLabel === 'system' || !event.actorLabel ? 'the system' : event.actorLabel;
  const label = event.actorLabel ?? shortId(event.actorId);
  if (event.actorType === 'device') return `device ${label}`;
  if (event.actorType === 'api_token' && !event.actorLabel) return `API token ${label}`;
  return label;
}

/** The device an event is about: its name when the event carries it, else its id's start. */
function rolloutOf(event: AuditEventFacts): string {
  return text(event.data, 'name') ?? shortId(event.targetId);
}

function deviceOf(event: AuditEventFacts): string {
  const name = text(event.data, 'device') ?? text(event.data, 'name');
  return `device ${name ?? shortId(event.targetId)}`;
}

function operatorOf(event: AuditEventFacts): string {
  return text(event.data, 'email') ?? `operator ${shortId(event.targetId)}`;
}

/** "EOS.x86_64-AB 2.0.0" or the image name and hash prefix of the version an event is about. */
function versionOf(event: AuditEventFacts): string {
  const name = text(event.data, 'imageName') ?? 'image';
  const label = event.data?.label;
  const current = typeof label === 'string' ? label : undefined;
  const hash = text(event.data, 'rootPrefixHash');
  return `${name} ${current ?? (hash ? hash.slice(0, 12) : shortId(event.targetId))}`;
}

function kindOf(event: AuditEventFacts): string {
  return text(event.data, 'kind') ?? 'a command';
}

/** " (it had timed out)" for an outcome that arrived after the server gave up on it. */
function lateness(event: AuditEventFacts): string {
  const from = text(event.data, 'from');
  if (from === 'timed_out') return ' after its deadline';
  if (from === 'cancelled') return ' although it had been cancelled';
  return '';
}

/** "device X reported apply failed (image_mismatch)": the code only where it adds something. */
function reportedBy(event: AuditEventFacts, outcome: string, withCode: boolean): string {
  const who = event.actorType === 'device' ? actorOf(event) : deviceOf(event);
  const error = withCode ? text(event.data, 'errorCode') : undefined;
  return `${who} reported ${kindOf(event)} ${outcome}${lateness(event)}${error ? ` (${error})` : ''}`;
}

const SENTENCES: Record<AuditAction, (event: AuditEventFacts) => string> = {
  'operator.created': (e) =>
    `${actorOf(e)} created operator ${operatorOf(e)}${text(e.data, 'role') ? ` as ${text(e.data, 'role')}` : ''}`,
  'operator.role_changed': (e) =>
    `${actorOf(e)} changed ${operatorOf(e)}'s role from ${text(e.data, 'from') ?? '?'} to ${text(e.data, 'to') ?? '?'}`,
  'operator.password_reset': (e) => `${actorOf(e)} reset the password of ${operatorOf(e)}`,
  'operator.password_changed': (e) =>
    e.actorId && e.actorId === e.targetId
      ? `${actorOf(e)} changed their password`
      : `${actorOf(e)} changed the password of ${operatorOf(e)}`,
  'operator.disabled': (e) => `${actorOf(e)} disabled operator ${operatorOf(e)}`,
  'operator.enabled': (e) => `${actorOf(e)} enabled operator ${operatorOf(e)}`,
  'operator.password_change_locked': (e) =>
    `password changes for ${text(e.data, 'account') ?? operatorOf(e)} were locked after ${text(e.data, 'failures') ?? 'repeated'} failed attempts`,
  'sign_in.locked': (e) =>
    `sign-in for ${text(e.data, 'account') ?? operatorOf(e)} was locked after ${text(e.data, 'failures') ?? 'repeated'} failed attempts${text(e.data, 'clientAddress') ? ` from ${text(e.data, 'clientAddress')}` : ''}`,
  'api_token.created': (e) =>
    `${actorOf(e)} created API token "${text(e.data, 'name') ?? shortId(e.targetId)}"${text(e.data, 'role') ? ` with role ${text(e.data, 'role')}` : ''}${text(e.data, 'expiresAt') ? `, expiring ${text(e.data, 'expiresAt')}` : ''}`,
  'api_token.revoked': (e) =>
    `${actorOf(e)} revoked API token "${text(e.data, 'name') ?? shortId(e.targetId)}"`,
  'api_token.locked': (e) =>
    `API token ${shortId(e.targetId)} was locked after ${text(e.data, 'failures') ?? 'repeated'} refused attempts${text(e.data, 'clientAddress') ? ` from ${text(e.data, 'clientAddress')}` : ''}`,
  'update_server.created': (e) =>
    `${actorOf(e)} added update server "${text(e.data, 'name') ?? shortId(e.targetId)}"${text(e.data, 'sshTarget') ? ` (${text(e.data, 'sshTarget')})` : ''}`,
  'update_server.updated': (e) =>
    `${actorOf(e)} changed update server "${text(e.data, 'name') ?? shortId(e.targetId)}"${text(e.data, 'catalogToken') ? ' and replaced its catalog token' : ''}`,
  'update_server.removed': (e) =>
    `${actorOf(e)} removed update server "${text(e.data, 'name') ?? shortId(e.targetId)}"`,
  'image_version.labelled': (e) => {
    const label = e.data?.label;
    const to =
      label && typeof label === 'object' && 'to' in label && typeof label.to === 'string'
        ? label.to
        : null;
    return `${actorOf(e)} ${to ? `labelled ${text(e.data, 'imageName') ?? 'image'} ${text(e.data, 'rootPrefixHash')?.slice(0, 12) ?? ''} "${to}"` : `removed the label of ${text(e.data, 'imageName') ?? 'image'} ${text(e.data, 'rootPrefixHash')?.slice(0, 12) ?? ''}`}`;
  },
  'image_version.recommended': (e) => `${actorOf(e)} recommended ${versionOf(e)}`,
  'image_version.unrecommended': (e) =>
    `${actorOf(e)} withdrew the recommendation of ${versionOf(e)}`,
  'rollout.created': (e) =>
    `${actorOf(e)} created rollout "${rolloutOf(e)}" (${text(e.data, 'devices') ?? '?'} devices, ${text(e.data, 'version') ?? 'a pinned version'})`,
  'rollout.started': (e) => `${actorOf(e)} started rollout "${rolloutOf(e)}"`,
  'rollout.paused': (e) =>
    `${actorOf(e)} paused rollout "${rolloutOf(e)}"${text(e.data, 'reason') ? `: ${text(e.data, 'reason')}` : ''}`,
  'rollout.resumed': (e) => `${actorOf(e)} resumed rollout "${rolloutOf(e)}"`,
  'rollout.batch_approved': (e) =>
    `${actorOf(e)} approved batch ${text(e.data, 'batch') ?? '?'} of rollout "${rolloutOf(e)}"`,
  'rollout.aborted': (e) =>
    `${actorOf(e)} aborted rollout "${rolloutOf(e)}"${text(e.data, 'reason') ? `: ${text(e.data, 'reason')}` : ''}`,
  'rollout.failed': (e) =>
    `rollout "${rolloutOf(e)}" failed and stopped${text(e.data, 'reason') ? `: ${text(e.data, 'reason')}` : ''}`,
  'rollout.completed': (e) =>
    `rollout "${rolloutOf(e)}" completed: ${text(e.data, 'succeeded') ?? '?'} succeeded, ${text(e.data, 'failed') ?? '?'} failed`,
  'rollout.retried': (e) =>
    `${actorOf(e)} retried ${text(e.data, 'devices') ?? '?'} failed devices of rollout "${rolloutOf(e)}"`,
  'rollout.reverted': (e) =>
    `${actorOf(e)} reverted rollout "${rolloutOf(e)}": ${text(e.data, 'devices') ?? '?'} devices sent back to their previous slot`,
  'image_version.blocked': (e) => `${actorOf(e)} blocked ${versionOf(e)}`,
  'image_version.unblocked': (e) => `${actorOf(e)} unblocked ${versionOf(e)}`,
  'enrollment_token.created': (e) =>
    `${actorOf(e)} created enrollment token "${text(e.data, 'name') ?? shortId(e.targetId)}"${e.data?.autoAccept === true ? ' (devices accepted automatically)' : ''}`,
  'enrollment_token.revoked': (e) =>
    `${actorOf(e)} revoked enrollment token "${text(e.data, 'name') ?? shortId(e.targetId)}"`,
  'device.enrolled': (e) =>
    `${actorOf(e)} enrolled${text(e.data, 'token') ? ` with token "${text(e.data, 'token')}"` : ''}${text(e.data, 'status') ? ` (${text(e.data, 'status')})` : ''}`,
  'device.accepted': (e) => `${actorOf(e)} accepted ${deviceOf(e)}`,
  'device.rejected': (e) => `${actorOf(e)} rejected ${deviceOf(e)}`,
  'device.decommissioned': (e) => {
    const cancelled = Number(e.data?.cancelledCommands ?? 0);
    return `${actorOf(e)} decommissioned ${deviceOf(e)}${cancelled > 0 ? `, cancelling ${cancelled} command${cancelled === 1 ? '' : 's'}` : ''}`;
  },
  'device.bulk_labelled': (e) => {
    const changed = Number(e.data?.changed ?? 0);
    const set = e.data?.set as Record<string, string> | undefined;
    const what = set
      ? `set the label ${Object.entries(set)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')} on`
      : `removed the label ${String(e.data?.removed)} from`;
    return `${actorOf(e)} ${what} ${changed} device${changed === 1 ? '' : 's'}`;
  },
  'device.bulk_commanded': (e) => {
    const count = Number(e.data?.commanded ?? 0);
    const kind = String(e.data?.kind);
    const what =
      kind === 'apply'
        ? `apply ${typeof e.data?.version === 'string' ? e.data.version : 'a version'}`
        : kind;
    return `${actorOf(e)} sent ${what} to ${count} device${count === 1 ? '' : 's'}`;
  },
  'device.bulk_decommissioned': (e) => {
    const count = Number(e.data?.decommissioned ?? 0);
    return `${actorOf(e)} decommissioned ${count} device${count === 1 ? '' : 's'} at once`;
  },
  'device.updated': (e) => {
    const rename = e.data?.name;
    if (rename && typeof rename === 'object' && 'from' in rename && 'to' in rename)
      return `${actorOf(e)} renamed device ${String(rename.from)} to ${String(rename.to)}`;
    return `${actorOf(e)} changed the labels of ${deviceOf(e)}`;
  },
  'command.created': (e) => `${actorOf(e)} sent ${kindOf(e)} to ${deviceOf(e)}`,
  'command.cancel_requested': (e) => `${actorOf(e)} asked ${deviceOf(e)} to cancel ${kindOf(e)}`,
  'command.cancelled': (e) =>
    e.actorType === 'device'
      ? `${actorOf(e)} reported ${kindOf(e)} cancelled before it started`
      : `${actorOf(e)} cancelled ${kindOf(e)} for ${deviceOf(e)}`,
  'command.succeeded': (e) => reportedBy(e, 'succeeded', false),
  'command.failed': (e) => reportedBy(e, 'failed', true),
  'command.rolled_back': (e) => reportedBy(e, 'rolled back', false),
  'command.timed_out': (e) =>
    `${kindOf(e)} on ${deviceOf(e)} timed out: ${text(e.data, 'errorCode') === 'not_delivered' ? 'never delivered' : 'no result before the deadline'}`,
};

export function auditSentence(event: AuditEventFacts): string {
  const sentence = SENTENCES[event.action as AuditAction] as
    ((event: AuditEventFacts) => string) | undefined;
  // an action recorded by an older version that has since left the list
  return sentence ? sentence(event) : `${actorOf(event)}: ${event.action}`;
}
