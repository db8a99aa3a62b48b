// An audit event as a sentence a person reads ("alice@example.org accepted device EOS-3f0c").
// Pure (the page and the CSV export both use it); one entry per action of the closed list, so a
// new action does not compile until it can be told.
import type { AuditAction } from './audit-actions';

export interface AuditEventFacts {
  action: string;
  actorType: 'operator' | 'device' | 'system';
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
  return event.actorType === 'device' ? `device ${label}` : label;
}

/** The device an event is about: its name when the event carries it, else its id's start. */
function deviceOf(event: AuditEventFacts): string {
  const name = text(event.data, 'device') ?? text(event.data, 'name');
  return `device ${name ?? shortId(event.targetId)}`;
}

function operatorOf(event: AuditEventFacts): string {
  return text(event.data, 'email') ?? `operator ${shortId(event.targetId)}`;
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
