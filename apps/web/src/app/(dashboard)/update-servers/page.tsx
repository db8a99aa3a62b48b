import { EmptyState, PageHeader } from '~/components/ui';

export default function UpdateServersPage() {
  return (
    <>
      <PageHeader
        title="Update servers"
        description="The servers your devices stream new root images from."
      />
      <EmptyState title="No update servers registered">
        Run the EOS Fleet update server (apps/update-server) next to, or instead of, your EOS update
        server, then register it here with its catalog URL and token. The dashboard then tracks its
        images, fetch errors, bytes served and streams.
      </EmptyState>
    </>
  );
}
