'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCan } from '~/components/session';
import {
  Alert,
  Badge,
  Button,
  Card,
  EmptyState,
  Loading,
  PageHeader,
  formatTime,
} from '~/components/ui';
import { labelImageVersionInput } from '~/server/services/catalog/catalog-inputs';
import { errorMessage, useTRPC } from '~/trpc/react';

export default function ImagesPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canManage = useCan('image.manage');
  const images = useQuery(trpc.catalog.images.queryOptions());
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.catalog.pathKey() });
  const label = useMutation(trpc.catalog.labelVersion.mutationOptions({ onSuccess: refresh }));
  const recommend = useMutation(
    trpc.catalog.setRecommended.mutationOptions({ onSuccess: refresh }),
  );
  const block = useMutation(trpc.catalog.setBlocked.mutationOptions({ onSuccess: refresh }));
  const error = label.error ?? recommend.error ?? block.error;

  function onLabel(imageVersionId: string, current: string | null) {
    const text = window.prompt('Label for this version (empty: none)', current ?? '');
    if (text === null) return;
    const input = labelImageVersionInput.safeParse({ imageVersionId, label: text });
    if (!input.success) {
      window.alert(input.error.issues.map((issue) => issue.message).join('; '));
      return;
    }
    label.mutate(input.data);
  }

  return (
    <>
      <PageHeader
        title="Images"
        description="EOS images and their versions, as devices see them: by the hash of their root partition."
      />
      {error && (
        <div className="mb-4">
          <Alert>{errorMessage(error)}</Alert>
        </div>
      )}
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
          <Card key={image.id}>
            <div className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-200 px-4 py-3">
              <h2 className="font-mono font-medium text-ink">{image.name}</h2>
              <span className="flex items-center gap-2 text-xs text-slate-600">
                on {image.updateServer.name}
                {image.updateServer.stale && <Badge tone="amber">stale catalog</Badge>}
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
                {image.arch ?? '—'} / {image.profile ?? '—'}
              </span>
            </div>
            <table className="w-full text-left text-sm">
              <thead className="text-xs uppercase text-slate-500">
                <tr>
                  <th className="px-4 py-2">Version</th>
                  <th className="px-4 py-2">Root prefix hash</th>
                  <th className="px-4 py-2">Root sha256</th>
                  <th className="px-4 py-2">Root size</th>
                  <th className="px-4 py-2">First seen</th>
                  <th className="px-4 py-2">Devices</th>
                  <th className="px-4 py-2" />
                </tr>
              </thead>
              <tbody>
                {image.versions.map((version) => (
                  <tr
                    key={version.id}
                    className="border-t border-slate-100"
                    data-testid={`image-version-${version.label ?? version.rootPrefixHash}`}
                  >
                    <td className="space-x-1 px-4 py-2">
                      <span className="font-medium">{version.label ?? '(no label)'}</span>
                      {version.recommended && <Badge tone="green">recommended</Badge>}
                      {version.blocked && <Badge tone="red">blocked</Badge>}
                      {!version.available && <Badge>aged out</Badge>}
                      {version.current && <Badge tone="sky">current</Badge>}
                    </td>
                    <td className="px-4 py-2 font-mono text-xs" title={version.rootPrefixHash}>
                      {version.rootPrefixHash.slice(0, 12)}
                    </td>
                    <td className="px-4 py-2 font-mono text-xs" title={version.rootSha256 ?? ''}>
                      {version.rootSha256?.slice(0, 12) ?? '—'}
                    </td>
                    <td className="px-4 py-2 text-xs">
                      {(version.rootPartitionSize / 1024 / 1024).toFixed(1)} MiB
                    </td>
                    <td className="px-4 py-2 text-xs">{formatTime(version.firstSeenAt)}</td>
                    <td className="px-4 py-2 text-xs">{version.devices}</td>
                    <td className="space-x-1 whitespace-nowrap px-4 py-2 text-right">
                      {canManage && (
                        <>
                          <Button
                            variant="secondary"
                            onClick={() => onLabel(version.id, version.label)}
                          >
                            Label
                          </Button>
                          <Button
                            variant="secondary"
                            disabled={
                              version.blocked || (!version.available && !version.recommended)
                            }
                            onClick={() =>
                              recommend.mutate({
                                imageVersionId: version.id,
                                value: !version.recommended,
                              })
                            }
                          >
                            {version.recommended ? 'Unrecommend' : 'Recommend'}
                          </Button>
                          <Button
                            variant={version.blocked ? 'secondary' : 'danger'}
                            onClick={() =>
                              block.mutate({ imageVersionId: version.id, value: !version.blocked })
                            }
                          >
                            {version.blocked ? 'Unblock' : 'Block'}
                          </Button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
        ))}
      </div>
    </>
  );
}
