'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useCan } from '~/components/session';
import {
  Alert,
  Badge,
  Button,
  Card,
  EmptyState,
  Field,
  Loading,
  PageHeader,
  TextInput,
  formatTime,
} from '~/components/ui';
import { formText } from '~/lib/form';
import { createUpdateServerInput } from '~/server/services/catalog/catalog-inputs';
import { errorMessage, useTRPC } from '~/trpc/react';

function mib(bytes: number) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export default function UpdateServersPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canManage = useCan('updateServer.manage');
  const canPoll = useCan('image.manage');
  const servers = useQuery(trpc.catalog.updateServers.queryOptions());
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.catalog.pathKey() });
  const add = useMutation(trpc.catalog.addUpdateServer.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(
    trpc.catalog.removeUpdateServer.mutationOptions({ onSuccess: refresh }),
  );
  const poll = useMutation(trpc.catalog.pollNow.mutationOptions({ onSettled: refresh }));
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});

  function onAdd(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const number = (name: string) => {
      const text = formText(form, name).trim();
      return text === '' ? undefined : Number(text);
    };
    // the procedure's own schema: the errors at the fields are the server's
    const input = createUpdateServerInput.safeParse({
      name: formText(form, 'name'),
      sshTarget: formText(form, 'sshTarget').trim(),
      sshPort: number('sshPort'),
      httpUrl: formText(form, 'httpUrl').trim(),
      catalogToken: formText(form, 'catalogToken'),
      maxConcurrentApplies: number('maxConcurrentApplies'),
    });
    if (!input.success) {
      setFieldErrors(
        Object.fromEntries(
          input.error.issues.map((issue) => [String(issue.path[0]), issue.message]),
        ),
      );
      return;
    }
    setFieldErrors({});
    const target = event.currentTarget;
    add.mutate(input.data, { onSuccess: () => target.reset() });
  }

  const error = add.error ?? remove.error ?? poll.error;
  return (
    <>
      <PageHeader
        title="Update servers"
        description="The servers your devices stream new root images from. Each catalog is polled every 30 s and on demand."
      />
      {error && (
        <div className="mb-4">
          <Alert>{errorMessage(error)}</Alert>
        </div>
      )}
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
          <Card key={server.id} className="p-4">
            <div className="flex flex-wrap items-center justify-between gap-2">
              <div className="min-w-0">
                <h2 className="font-medium text-ink">{server.name}</h2>
                <p className="break-all text-xs text-slate-600">
                  ssh {server.sshTarget} port {server.sshPort} · {server.httpUrl} · at most{' '}
                  {server.maxConcurrentApplies} applies at once · token{' '}
                  {server.hasCatalogToken ? 'set' : 'none'}
                </p>
              </div>
              <div className="flex items-center gap-2">
                <Badge
                  tone={server.reachable === null ? 'slate' : server.reachable ? 'green' : 'red'}
                >
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
                    Poll now
                  </Button>
                )}
                {canManage && (
                  <Button
                    variant="danger"
                    onClick={() => {
                      if (
                        window.confirm(`Remove ${server.name} and its catalog from the dashboard?`)
                      )
                        remove.mutate({ updateServerId: server.id });
                    }}
                  >
                    Remove
                  </Button>
                )}
              </div>
            </div>
            <p className="mt-2 text-xs text-slate-600">
              last poll {formatTime(server.lastPolledAt)} · last answer{' '}
              {formatTime(server.lastSuccessAt)} · {mib(server.bytesServed)} served ·{' '}
              {server.activeStreams} active streams
            </p>
            {server.lastError && (
              <p className="mt-1 break-all text-xs text-red-700">error: {server.lastError}</p>
            )}
            {server.images.length > 0 && (
              <ul className="mt-2 text-sm">
                {server.images.map((image) => (
                  <li key={image.id} className="flex flex-wrap items-center gap-2">
                    <span className="font-mono">{image.name}</span>
                    <Badge
                      tone={
                        image.fetchStatus === 'ok'
                          ? 'green'
                          : image.fetchStatus === 'error'
                            ? 'red'
                            : 'slate'
                      }
                    >
                      fetch {image.fetchStatus}
                    </Badge>
                    {!image.offered && <Badge>no longer listed</Badge>}
                    <span className="text-xs text-slate-500">
                      {image.offeredVersions} versions offered · {mib(image.bytesServed)} served ·{' '}
                      {image.activeStreams} streams
                    </span>
                    {image.lastFetchError && (
                      <span className="text-xs text-red-700">{image.lastFetchError}</span>
                    )}
                  </li>
                ))}
              </ul>
            )}
          </Card>
        ))}
      </div>
      {canManage && (
        <Card className="mt-6 p-4">
          <form
            onSubmit={onAdd}
            noValidate
            aria-label="Add update server"
            className="grid gap-3 md:grid-cols-2"
          >
            <h2 className="font-medium text-ink md:col-span-2">Add an update server</h2>
            <Field label="Name" error={fieldErrors.name}>
              <TextInput name="name" placeholder="lab" />
            </Field>
            <Field label="SSH target devices use (user@host)" error={fieldErrors.sshTarget}>
              <TextInput name="sshTarget" placeholder="ec2-user@updates.example" />
            </Field>
            <Field label="SSH port" error={fieldErrors.sshPort}>
              <TextInput name="sshPort" inputMode="numeric" placeholder="22" />
            </Field>
            <Field label="HTTP / catalog URL" error={fieldErrors.httpUrl}>
              <TextInput name="httpUrl" placeholder="http://updates.example:8080" />
            </Field>
            <Field label="Catalog token (shown never again)" error={fieldErrors.catalogToken}>
              <TextInput name="catalogToken" type="password" autoComplete="off" />
            </Field>
            <Field label="Concurrent applies at most" error={fieldErrors.maxConcurrentApplies}>
              <TextInput name="maxConcurrentApplies" inputMode="numeric" placeholder="25" />
            </Field>
            <div className="md:col-span-2">
              <Button type="submit" disabled={add.isPending}>
                Add update server
              </Button>
            </div>
          </form>
        </Card>
      )}
    </>
  );
}
