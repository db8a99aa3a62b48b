'use client';
import { createAuthClient } from 'better-auth/react';

/** better-auth's browser client; the API lives on the same origin as the pages. */
export const authClient = createAuthClient();
