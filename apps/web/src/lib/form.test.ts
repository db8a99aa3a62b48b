// The form helper's words: what an operator reads at a field for each kind of bad value, with the
// procedures' own schemas; server errors back at their fields.
import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createUpdateServerInput,
  labelImageVersionInput,
  updateUpdateServerInput,
} from '../server/services/catalog/catalog-inputs';
import { fieldErrorsOf, overLengthErrors, serverErrorsOf, validateWith } from './form';

const valid = {
  name: 'lab',
  sshTarget: 'ec2-user@updates.example',
  sshPort: 22,
  httpUrl: 'http://updates.example:8080',
  catalogToken: 'a-catalog-token-of-24ch',
  maxConcurrentApplies: 25,
};

function errorsFor(schema: z.ZodType, values: unknown) {
  const result = validateWith(schema, values);
  if (result.ok) throw new Error('expected errors');
  return result.errors;
}

describe('form errors in words', () => {
  it('says "Must be a whole number" where zod said "expected int, received number"', () => {
    const errors = errorsFor(createUpdateServerInput, { ...valid, maxConcurrentApplies: 2.5 });
    expect(errors).toEqual({ maxConcurrentApplies: 'Must be a whole number' });
    expect(errorsFor(createUpdateServerInput, { ...valid, sshPort: Number('22a') })).toEqual({
      sshPort: 'Must be a whole number (digits only)',
    });
  });

  it('words ranges, lengths, formats and missing values', () => {
    const errors = errorsFor(createUpdateServerInput, {
      name: '   ',
      sshTarget: 'updates.example',
      sshPort: 70000,
      httpUrl: 'not a url',
      catalogToken: 'short',
      maxConcurrentApplies: 0,
    });
    expect(errors).toEqual({
      name: 'Required',
      sshTarget: 'Must be user@host, the account devices sign in as and the host',
      sshPort: 'At most 65,535',
      httpUrl: expect.stringMatching(/^(Must be a URL|Expected)/),
      catalogToken: 'At least 16 characters (the update server requires them)',
      maxConcurrentApplies: 'At least 1',
    });
    expect(errorsFor(z.object({ email: z.email() }), { email: 'x' })).toEqual({
      email: 'Must be an email address',
    });
    expect(errorsFor(z.object({ role: z.enum(['viewer', 'admin']) }), { role: 'root' })).toEqual({
      role: 'Must be one of viewer, admin',
    });
    expect(errorsFor(z.object({ n: z.string() }), {})).toEqual({ n: 'Required' });
  });

  it('refuses over-long text and says by how much, never cutting it', () => {
    const name = 'x'.repeat(150);
    expect(errorsFor(createUpdateServerInput, { ...valid, name })).toEqual({
      name: 'At most 100 characters (this has 150)',
    });
    // while typing, before any submit, only the length is flagged
    expect(overLengthErrors(createUpdateServerInput, { name })).toEqual({
      name: 'At most 100 characters (this has 150)',
    });
    expect(overLengthErrors(createUpdateServerInput, { name: 'ok' })).toEqual({});
  });

  it('keeps the messages a schema sets itself, as sentences', () => {
    expect(
      errorsFor(labelImageVersionInput, {
        imageVersionId: '00000000-0000-4000-8000-000000000000',
        label: '1.0;rm',
      }),
    ).toEqual({ label: 'Only letters, digits, spaces and . _ + ~ -' });
  });

  it('clears what no longer applies: a valid value has no error', () => {
    expect(
      validateWith(updateUpdateServerInput, {
        updateServerId: '00000000-0000-4000-8000-000000000000',
        sshPort: 2222,
      }).ok,
    ).toBe(true);
  });

  it('puts nested issues at their field, saying where inside', () => {
    expect(fieldErrorsOf([{ path: ['labels', 'site'], message: 'At most 63 characters' }])).toEqual(
      { labels: 'site: At most 63 characters' },
    );
  });
});

describe('server errors back at the fields', () => {
  it('maps a BAD_REQUEST with zod field errors to the fields the form has', () => {
    const error = new TRPCClientError('Invalid input: sshPort: At most 65,535', {
      result: {
        error: {
          code: -32600,
          message: 'Invalid input: sshPort: At most 65,535',
          data: {
            code: 'BAD_REQUEST',
            zodError: { fieldErrors: { sshPort: ['At most 65,535'], hidden: ['x'] } },
            field: null,
          },
        },
      },
    });
    expect(serverErrorsOf(error, ['sshPort', 'name'])).toEqual({
      fields: { sshPort: 'At most 65,535' },
      form: null,
    });
  });

  it('maps a domain error that names its field, and keeps the rest for the form', () => {
    const conflict = {
      message: 'An update server named "lab" exists already.',
      data: { code: 'CONFLICT', zodError: null, field: 'name' },
    };
    expect(serverErrorsOf(conflict, ['name'])).toEqual({
      fields: { name: 'An update server named "lab" exists already.' },
      form: null,
    });
    expect(serverErrorsOf({ message: 'No such update server.', data: {} }, ['name'])).toEqual({
      fields: {},
      form: 'No such update server.',
    });
  });
});
