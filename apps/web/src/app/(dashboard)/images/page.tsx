import { EmptyState, PageHeader } from '~/components/ui';

export default function ImagesPage() {
  return (
    <>
      <PageHeader
        title="Images"
        description="EOS images and their versions, as devices see them: by the hash of their root partition."
      />
      <EmptyState title="No images known yet">
        Images are read from your update servers&apos; catalogs. Register an update server and the
        images it publishes appear here, each version with its root prefix hash, partition size,
        arch and profile.
      </EmptyState>
    </>
  );
}
