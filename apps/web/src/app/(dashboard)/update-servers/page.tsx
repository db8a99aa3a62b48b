'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Pencil } from 'lucide-react';
import { useState } from 'react';
import { useCan } from '~/components/session';
import {
  Alert,
  Badge,
  Button,
  Card,
  ConfirmDialog,
  Dialog,
  EmptyState,
  Field,
  Loading,
  PageHeader,
  TextInput,
  TruncatedText,
  formatBytes,
  formatTime,
} from '~/components/ui';
import { formNumber, formText, useZodForm } from '~/lib/form';
import {
  createUpdateServerInput,
  updateUpdateServerInput,
} from '~/server/services/catalog/catalog-inputs';
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '~/server/api/root';
import { errorMessage, useTRPC } from '~/trpc/react';

type UpdateServer = inferRouterOutputs<AppRouter>['catalog']['updateServers'][number];

const FIELDS = [
  'name',
  'sshTarget',
  'sshPort',
  'httpUrl',
  'catalogToken',
  'maxConcurrentApplies',
] as const;

/** An empty field is a missing value ("Required"), not a malformed one. */
function textOrUndefined(form: FormData, name: string) {
  const text = formText(form, name).trim();
  return text === '' ? undefined : text;
}

function readServerForm(form: FormData) {
  return {
    name: formText(form, 'name'),
    sshTarget: textOrUndefined(form, 'sshTarget'),
    sshPort: formNumber(form, 'sshPort'),
    httpUrl: textOrUndefined(form, 'httpUrl'),
    catalogToken: formText(form, 'catalogToken') || undefined,
    maxConcurrentApplies: formNumber(form, 'maxConcurrentApplies'),
  };
}

/** The fields of a server, for adding (empty) or editing (its values; the token never shown). */
function ServerFields({
  errors,
  server,
}: {
  errors: Record<string, string>;
  server?: UpdateServer;
}) {
  return (
    <>
      <Field label="Name" error={errors.name}>
        <TextInput name="name" placeholder="lab" defaultValue={server?.name} />
      </Field>
      <Field
        label="SSH target devices use (user@host)"
        error={errors.sshTarget}
        hint="As under server: in the devices' /etc/os-update.yml"
      >
        <TextInput
          name="sshTarget"
          placeholder="ec2-user@updates.example"
          defaultValue={server?.sshTarget}
        />
      </Field>
      <Field label="SSH port" error={errors.sshPort}>
        <TextInput
          name="sshPort"
          inputMode="numeric"
          placeholder="22"
          defaultValue={server?.sshPort}
        />
      </Field>
      <Field label="HTTP / catalog URL" error={errors.httpUrl}>
        <TextInput
          name="httpUrl"
          placeholder="http://updates.example:8080"
          defaultValue={server?.httpUrl}
        />
      </Field>
      <Field
        label={server ? 'New catalog token' : 'Catalog token'}
        error={errors.catalogToken}
        hint={
          server
            ? server.hasCatalogToken
              ? 'A token is stored (sealed, never shown). Leave empty to keep it.'
              : 'No token is stored. Leave empty to keep it so.'
            : 'The update server’s catalogToken; sealed at once, never shown again.'
        }
      >
        <TextInput name="catalogToken" type="password" autoComplete="off" />
      </Field>
      <Field label="Concurrent applies at most" error={errors.maxConcurrentApplies}>
        <TextInput
          name="maxConcurrentApplies"
          inputMode="numeric"
          placeholder="25"
          defaultValue={server?.maxConcurrentApplies}
        />
      </Field>
    </>
  );
}

function AddServerForm({ onDone }: { onDone: () => Promise<unknown> }) {
  const trpc = useTRPC();
  const add = useMutation(trpc.catalog.addUpdateServer.mutationOptions());
  const form = useZodForm({
    schema: createUpdateServerInput,
    fields: FIELDS,
    read: readServerForm,
    onValid: async (data, element) => {
      await add.mutateAsync(data);
      element.reset();
      form.reset();
      await onDone();
    },
  });
  return (
    <form
      {...form.formProps}
      aria-label="Add update server"
      className="grid gap-3 p-4 md:grid-cols-2"
    >
      <h2 className="font-medium text-ink md:col-span-2">Add an update server</h2>
      <ServerFields errors={form.errors} />
      {form.formError && (
        <div className="md:col-span-2">
          <Alert>{form.formError}</Alert>
        </div>
      )}
      <div className="md:col-span-2">
        <Button type="submit" disabled={add.isPending}>
          Add update server
        </Button>
      </div>
    </form>
  );
}

function EditServerDialog({
  server,
  onDone,
}: {
  server: UpdateServer;
  onDone: () => Promise<unknown>;
}) {
  const trpc = useTRPC();
  const [open, setOpen] = useState(false);
  const edit = useMutation(trpc.catalog.editUpdateServer.mutationOptions());
  const form = useZodForm({
    schema: updateUpdateServerInput,
    fields: FIELDS,
    read: (data) => {
      const values = readServerForm(data);
      return {
        ...values,
        updateServerId: server.id,
        // empty: keep the sealed token
        catalogToken: values.catalogToken,
        // an emptied field here is a mistake ("Required"), not "keep"
        sshTarget: values.sshTarget ?? '',
        httpUrl: values.httpUrl ?? '',
        // a cleared number field is a mistake here, not "the default"
        sshPort: values.sshPort ?? '',
        maxConcurrentApplies: values.maxConcurrentApplies ?? '',
      };
    },
    onValid: async (data) => {
      await edit.mutateAsync(data);
      await onDone();
      setOpen(false);
    },
  });
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) form.reset();
      }}
      title={`Edit ${server.name}`}
      trigger={
        <Button variant="secondary" aria-label={`Edit ${server.name}`}>
          <Pencil aria-hidden className="size-3.5" />
          Edit
        </Button>
      }
    >
      <form {...form.formProps} aria-label="Edit update server" className="grid gap-3">
        <ServerFields errors={form.errors} server={server} />
        {form.formError && <Alert>{form.formError}</Alert>}
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={() => setOpen(false)}>
            Cancel
          </Button>
          <Button type="submit" disabled={edit.isPending}>
            Save changes
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function fetchTone(status: string) {
  return status === 'ok' ? 'green' : status === 'error' ? 'red' : 'slate';
}

function ServerCard({
  server,
  canManage,
  canPoll,
  refresh,
}: {
  server: UpdateServer;
  canManage: boolean;
  canPoll: boolean;
  refresh: () => Promise<unknown>;
}) {
  const trpc = useTRPC();
  const [confirmRemove, setConfirmRemove] = useState(false);
  const remove = useMutation(
    trpc.catalog.removeUpdateServer.mutationOptions({
      onSuccess: async () => {
        setConfirmRemove(false);
        await refresh();
      },
    }),
  );
  const poll = useMutation(trpc.catalog.pollNow.mutationOptions({ onSettled: refresh }));
  return (
    <div data-testid={`update-server-${server.name}`}>
      <Card className="p-4">
        <div className="flex flex-wrap items-start justify-between gap-2">
          <div className="min-w-0 flex-1">
            <h2 className="min-w-0 font-medium text-ink">
              <TruncatedText text={server.name} />
            </h2>
            <dl className="mt-1 grid grid-cols-[max-content_minmax(0,1fr)] gap-x-3 text-xs text-slate-700">
              <dt className="text-slate-600">SSH</dt>
              <dd className="break-all">
                {server.sshTarget} port {server.sshPort}
              </dd>
              <dt className="text-slate-600">Catalog</dt>
              <dd className="break-all">{server.httpUrl}</dd>
              <dt className="text-slate-600">Applies</dt>
              <dd>at most {server.maxConcurrentApplies.toLocaleString('en-US')} at once</dd>
              <dt className="text-slate-600">Token</dt>
              <dd>{server.hasCatalogToken ? 'set (sealed)' : 'none'}</dd>
            </dl>
          </div>
          <div className="flex flex-wrap items-center gap-2">
            <Badge tone={server.reachable === null ? 'slate' : server.reachable ? 'green' : 'red'}>
              {server.reachable === null
                ? 'not polled yet'
                : server.reachable
                  ? 'reachable'
                  : 'unreachable'}
            </Badge>
            {server.stale && <Badge tone="amber">stale catalog</Badge>}
            {canPoll && (
              <Button
                variant="secondary"
                disabled={poll.isPending}
                onClick={() => poll.mutate({ updateServerId: server.id })}
              >
                {poll.isPending ? 'Polling…' : 'Poll now'}
              </Button>
            )}
            {canManage && <EditServerDialog server={server} onDone={refresh} />}
            {canManage && (
              <ConfirmDialog
                open={confirmRemove}
                onOpenChange={setConfirmRemove}
                title={`Remove ${server.name}?`}
                description={`Its catalog (${server.images.length} images) leaves the dashboard; devices configured for it then show “unknown server”. The update server itself keeps running.`}
                confirmLabel="Remove update server"
                pending={remove.isPending}
                error={remove.error ? errorMessage(remove.error) : null}
                onConfirm={() => remove.mutate({ updateServerId: server.id })}
                trigger={<Button variant="danger">Remove</Button>}
              />
            )}
          </div>
        </div>
        {poll.error && (
          <div className="mt-2">
            <Alert>{errorMessage(poll.error)}</Alert>
          </div>
        )}
        <p className="mt-3 text-xs text-slate-700">
          last poll {formatTime(server.lastPolledAt)} · last answer{' '}
          {formatTime(server.lastSuccessAt)} · {formatBytes(server.bytesServed)} served ·{' '}
          {server.activeStreams} active streams
        </p>
        {server.stale && (
          <p className="mt-1 text-xs text-amber-800">
            Not answering since {formatTime(server.lastSuccessAt)}: what it last said is shown.
          </p>
        )}
        {server.lastError && (
          <p className="mt-1 break-words text-xs text-red-700" data-testid="server-error">
            error: {server.lastError}
          </p>
        )}
        {server.images.length > 0 && (
          <div className="mt-3 overflow-x-auto">
            <table className="w-full table-fixed text-left text-xs">
              <thead className="text-slate-600">
                <tr>
                  <th className="w-1/4 py-1 pr-2 font-medium">Image</th>
                  <th className="py-1 pr-2 font-medium">Last fetch</th>
                  <th className="py-1 pr-2 font-medium">Versions</th>
                  <th className="py-1 pr-2 font-medium">Served</th>
                  <th className="py-1 font-medium">Streams</th>
                </tr>
              </thead>
              <tbody>
                {server.images.map((image) => (
                  <tr key={image.id} className="border-t border-slate-100 align-top">
                    <td className="py-1 pr-2 font-mono">
                      <TruncatedText text={image.name} />
                      {!image.offered && <Badge>no longer listed</Badge>}
                    </td>
                    <td className="py-1 pr-2">
                      <Badge tone={fetchTone(image.fetchStatus)}>fetch {image.fetchStatus}</Badge>{' '}
                      {formatTime(image.lastFetchedAt)}
                      {image.lastFetchError && (
                        <span className="block break-words text-red-700">
                          {image.lastFetchError}
                        </span>
                      )}
                    </td>
                    <td className="py-1 pr-2">{image.offeredVersions} offered</td>
                    <td className="py-1 pr-2">{formatBytes(image.bytesServed)}</td>
                    <td className="py-1">{image.activeStreams}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  );
}

export default function UpdateServersPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canManage = useCan('updateServer.manage');
  const canPoll = useCan('image.manage');
  const servers = useQuery(trpc.catalog.updateServers.queryOptions());
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.catalog.pathKey() });

  return (
    <>
      <PageHeader
        title="Update servers"
        description="The servers your devices stream new root images from. Each catalog is polled every 30 s and on demand."
      />
      {servers.error && <Alert>{errorMessage(servers.error)}</Alert>}
      {!servers.data && !servers.error && <Loading what="update servers" />}
      {servers.data?.length === 0 && (
        <EmptyState title="No update servers registered">
          Run the EOS Fleet update server (apps/update-server) next to, or instead of, your EOS
          update server, then register it below with its catalog URL and token.
        </EmptyState>
      )}
      <div className="space-y-4" data-testid="update-servers">
        {servers.data?.map((server) => (
          <ServerCard
            key={server.id}
            server={server}
            canManage={canManage}
            canPoll={canPoll}
            refresh={refresh}
          />
        ))}
      </div>
      {canManage && (
        <Card className="mt-6">
          <AddServerForm onDone={refresh} />
        </Card>
      )}
    </>
  );
}
