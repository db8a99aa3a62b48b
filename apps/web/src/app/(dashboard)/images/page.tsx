'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { inferRouterOutputs } from '@trpc/server';
import { useState } from 'react';
import { useCan } from '~/components/session';
import {
  Alert,
  Badge,
  Button,
  Card,
  ConfirmDialog,
  CopyableHash,
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
import { formText, useZodForm } from '~/lib/form';
import type { AppRouter } from '~/server/api/root';
import { labelImageVersionInput } from '~/server/services/catalog/catalog-inputs';
import { errorMessage, useTRPC } from '~/trpc/react';

type Image = inferRouterOutputs<AppRouter>['catalog']['images'][number];
type Version = Image['versions'][number];

function LabelDialog({ version, onDone }: { version: Version; onDone: () => Promise<unknown> }) {
  const trpc = useTRPC();
  const [open, setOpen] = useState(false);
  const label = useMutation(trpc.catalog.labelVersion.mutationOptions());
  const form = useZodForm({
    schema: labelImageVersionInput,
    fields: ['label'],
    read: (data) => ({ imageVersionId: version.id, label: formText(data, 'label') }),
    onValid: async (data) => {
      await label.mutateAsync(data);
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
      title={`Label ${version.displayName}`}
      description="What operators see in version lists and on devices. Empty: the hash prefix names it."
      trigger={
        <Button variant="secondary" aria-label={`Label ${version.displayName}`}>
          Label
        </Button>
      }
    >
      <form {...form.formProps} aria-label="Label version" className="grid gap-3">
        <Field
          label="Label"
          error={form.errors.label}
          hint={
            version.osVersion
              ? `The image says it is ${version.osVersion} (its os-release VERSION).`
              : 'The image carries no os-release version.'
          }
        >
          <TextInput name="label" defaultValue={version.label ?? ''} placeholder="2.0.0" />
        </Field>
        {form.formError && <Alert>{form.formError}</Alert>}
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={() => setOpen(false)}>
            Cancel
          </Button>
          <Button type="submit" disabled={label.isPending}>
            Save label
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function VersionActions({
  version,
  refresh,
}: {
  version: Version;
  refresh: () => Promise<unknown>;
}) {
  const trpc = useTRPC();
  const [confirmBlock, setConfirmBlock] = useState(false);
  const recommend = useMutation(
    trpc.catalog.setRecommended.mutationOptions({ onSuccess: refresh }),
  );
  const block = useMutation(
    trpc.catalog.setBlocked.mutationOptions({
      onSuccess: async () => {
        setConfirmBlock(false);
        await refresh();
      },
    }),
  );
  return (
    <div className="flex flex-wrap justify-end gap-1">
      <LabelDialog version={version} onDone={refresh} />
      <Button
        variant="secondary"
        disabled={version.blocked || (!version.available && !version.recommended)}
        title={
          version.blocked
            ? 'A blocked version cannot be recommended'
            : !version.available && !version.recommended
              ? 'No longer offered by its server'
              : undefined
        }
        onClick={() =>
          recommend.mutate({ imageVersionId: version.id, value: !version.recommended })
        }
      >
        {version.recommended ? 'Unrecommend' : 'Recommend'}
      </Button>
      {version.blocked ? (
        <Button
          variant="secondary"
          disabled={block.isPending}
          onClick={() => block.mutate({ imageVersionId: version.id, value: false })}
        >
          Unblock
        </Button>
      ) : (
        <ConfirmDialog
          open={confirmBlock}
          onOpenChange={setConfirmBlock}
          title={`Block ${version.displayName}?`}
          description={`It will no longer be offered for applies or rollouts, and the API refuses new applies of it.${version.devices ? ` ${version.devices} devices run it now; they keep running it.` : ''}${version.recommended ? ' It stops being the recommended version.' : ''}`}
          confirmLabel="Block version"
          pending={block.isPending}
          error={block.error ? errorMessage(block.error) : null}
          onConfirm={() => block.mutate({ imageVersionId: version.id, value: true })}
          trigger={<Button variant="danger">Block</Button>}
        />
      )}
      {recommend.error && (
        <p role="alert" className="w-full text-right text-xs text-red-700">
          {errorMessage(recommend.error)}
        </p>
      )}
    </div>
  );
}

function ImageCard({
  image,
  canManage,
  refresh,
}: {
  image: Image;
  canManage: boolean;
  refresh: () => Promise<unknown>;
}) {
  return (
    <Card>
      <div className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-200 px-4 py-3">
        <h2 className="min-w-0 font-mono font-medium text-ink">
          <TruncatedText text={image.name} />
        </h2>
        <span className="flex min-w-0 flex-wrap items-center gap-2 text-xs text-slate-700">
          <span className="min-w-0 max-w-64">
            <TruncatedText text={`on ${image.updateServer.name}`} />
          </span>
          {image.updateServer.stale && (
            <Badge tone="amber">stale catalog: server not answering</Badge>
          )}
          {!image.offered && <Badge>no longer listed</Badge>}
          <Badge
            tone={
              image.fetchStatus === 'ok' ? 'green' : image.fetchStatus === 'error' ? 'red' : 'slate'
            }
          >
            fetch {image.fetchStatus}
          </Badge>
          <span>last fetched {formatTime(image.lastFetchedAt)}</span>
          <span>
            {image.arch ?? '—'} / {image.profile ?? '—'}
          </span>
          <span>
            {formatBytes(image.bytesServed)} served · {image.activeStreams} streams
          </span>
        </span>
      </div>
      {image.lastFetchError && (
        <p className="break-words border-b border-slate-200 px-4 py-2 text-xs text-red-700">
          last fetch failed: {image.lastFetchError}
        </p>
      )}
      <div className="overflow-x-auto">
        <table className="w-full text-left text-sm">
          <thead className="text-xs uppercase text-slate-600">
            <tr>
              <th className="px-4 py-2">Version</th>
              <th className="px-4 py-2">Root prefix hash</th>
              <th className="px-4 py-2">Whole root sha256</th>
              <th className="px-4 py-2">Root size</th>
              <th className="px-4 py-2">os-release</th>
              <th className="px-4 py-2">First seen</th>
              <th className="px-4 py-2">Devices</th>
              {canManage && <th className="px-4 py-2" />}
            </tr>
          </thead>
          <tbody>
            {image.versions.map((version) => (
              <tr
                key={version.id}
                className="border-t border-slate-100 align-top"
                data-testid={`image-version-${version.label ?? version.rootPrefixHash}`}
              >
                <td className="max-w-56 px-4 py-2">
                  <span className="block break-words font-medium">
                    {version.label ?? '(no label)'}
                  </span>
                  <span className="flex flex-wrap gap-1">
                    {version.recommended && <Badge tone="green">recommended</Badge>}
                    {version.blocked && <Badge tone="red">blocked</Badge>}
                    {version.available ? (
                      <Badge tone="sky">offered</Badge>
                    ) : (
                      <Badge>aged out</Badge>
                    )}
                    {version.current && <Badge tone="sky">current</Badge>}
                  </span>
                </td>
                <td className="px-4 py-2">
                  <CopyableHash value={version.rootPrefixHash} label="root prefix hash" />
                </td>
                <td className="px-4 py-2">
                  {version.rootSha256 ? (
                    <CopyableHash value={version.rootSha256} label="root sha256" />
                  ) : (
                    '—'
                  )}
                </td>
                <td className="whitespace-nowrap px-4 py-2 text-xs">
                  {formatBytes(version.rootPartitionSize)}
                </td>
                <td className="px-4 py-2 text-xs" data-testid="os-version">
                  {version.osVersion ?? '—'}
                </td>
                <td className="px-4 py-2 text-xs">{formatTime(version.firstSeenAt)}</td>
                <td className="px-4 py-2 text-xs">{version.devices}</td>
                {canManage && (
                  <td className="px-4 py-2">
                    <VersionActions version={version} refresh={refresh} />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

export default function ImagesPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canManage = useCan('image.manage');
  const images = useQuery(trpc.catalog.images.queryOptions());
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.catalog.pathKey() });

  return (
    <>
      <PageHeader
        title="Images"
        description="EOS images and their versions, as devices see them: by the hash of their root partition."
      />
      {images.error && <Alert>{errorMessage(images.error)}</Alert>}
      {!images.data && !images.error && <Loading what="images" />}
      {images.data?.length === 0 && (
        <EmptyState title="No images known yet">
          Images are read from your update servers&apos; catalogs. Register an update server and the
          images it publishes appear here.
        </EmptyState>
      )}
      <div className="space-y-4" data-testid="images">
        {images.data?.map((image) => (
          <ImageCard key={image.id} image={image} canManage={canManage} refresh={refresh} />
        ))}
      </div>
    </>
  );
}
