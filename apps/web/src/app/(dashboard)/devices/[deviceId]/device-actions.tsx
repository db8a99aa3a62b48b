'use client';
import { RefreshCw, SearchCheck, Undo2 } from 'lucide-react';
import { Button, Card } from '~/components/ui';
import { ConfirmButton } from './confirm-button';
import type { DeviceView } from './types';

/** Commands without parameters, and decommission; each a thing the device (or we) will do. */
export function DeviceActions({
  device,
  canOperate,
  canEnroll,
  pending,
  onCommand,
  onDecommission,
}: {
  device: DeviceView;
  canOperate: boolean;
  canEnroll: boolean;
  pending: boolean;
  onCommand: (kind: 'check' | 'inventory.refresh' | 'rollback') => void;
  onDecommission: () => void;
}) {
  const other = device.slots.find((slot) => !slot.active);
  return (
    <Card className="min-w-0 p-4">
      <h2 className="mb-3 font-medium text-ink">Actions</h2>
      <div className="flex flex-wrap gap-2">
        {canOperate && (
          <>
            <Button disabled={pending} onClick={() => onCommand('check')}>
              <SearchCheck aria-hidden className="mr-1 inline h-4 w-4" />
              Check for update
            </Button>
            <Button
              variant="secondary"
              disabled={pending}
              onClick={() => onCommand('inventory.refresh')}
            >
              <RefreshCw aria-hidden className="mr-1 inline h-4 w-4" />
              Refresh inventory
            </Button>
            {other && (
              <ConfirmButton
                variant="danger"
                disabled={pending}
                title="Roll back to the other slot?"
                description={
                  <>
                    <p>
                      The device points its boot loader at {other.slot} and reboots, without
                      checking what that slot holds (EOS&apos;s rollback does not).
                    </p>
                    <p>
                      It holds: <strong>{other.version ?? 'unknown'}</strong> ({other.evidence}).
                    </p>
                  </>
                }
                confirmLabel="Roll back and reboot"
                onConfirm={() => onCommand('rollback')}
              >
                <Undo2 aria-hidden className="mr-1 inline h-4 w-4" />
                Roll back
              </ConfirmButton>
            )}
          </>
        )}
        {canEnroll && (
          <ConfirmButton
            variant="danger"
            title={`Decommission ${device.name}?`}
            description={
              <p>
                It is disconnected and refused from now on; commands it has not finished are
                cancelled. This cannot be undone: the device would have to enrol again.
              </p>
            }
            confirmLabel="Decommission"
            onConfirm={onDecommission}
          >
            Decommission
          </ConfirmButton>
        )}
      </div>
    </Card>
  );
}
