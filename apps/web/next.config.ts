import type { NextConfig } from 'next';

const config: NextConfig = {
  // Next serves the pages only; the API, auth and gateway run in server.ts.
  transpilePackages: ['@eos-fleet/shared'],
  poweredByHeader: false,
  reactStrictMode: true,
  typescript: { ignoreBuildErrors: false },
};

export default config;
