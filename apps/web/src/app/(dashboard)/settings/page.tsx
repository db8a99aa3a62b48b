'use client';
import { PageHeader } from '~/components/ui';
import { ApiTokensSection } from './api-tokens-section';
import { OperatorsSection } from './operators-section';

export default function SettingsPage() {
  return (
    <>
      <PageHeader
        title="Settings"
        description="Operators and their roles, and API tokens for automation. Admins manage operators; operators run the fleet; viewers look."
      />
      <OperatorsSection />
      <div className="mt-6">
        <ApiTokensSection />
      </div>
    </>
  );
}
