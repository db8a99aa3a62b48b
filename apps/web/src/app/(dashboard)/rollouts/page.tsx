import { EmptyState, PageHeader } from '~/components/ui';

export default function RolloutsPage() {
  return (
    <>
      <PageHeader
        title="Rollouts"
        description="Staged moves of the fleet, or part of it, to a pinned image version."
      />
      <EmptyState title="No rollouts yet">
        A rollout takes one image version, pinned by its root hash, to the devices you target, in
        batches with soak time and success and failure thresholds. You need accepted devices and an
        update server that publishes the image first.
      </EmptyState>
    </>
  );
}
