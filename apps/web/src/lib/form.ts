// One way for every form to validate: the procedure's own zod schema (the object its router
// uses), checked on submit and, after the first submit, on every change; issues at their fields
// in words (lib/zod-words.ts); a message goes as soon as it no longer applies; an over-long value
// is flagged while typing and refused, never cut (no `maxLength` attribute: the browser would cut
// a paste silently); the server's BAD_REQUEST (its zod issues, or a domain error that names a
// field) lands back at the field.
import { useCallback, useRef, useState, type ChangeEvent, type FormEvent } from 'react';
import type { z } from 'zod';
import { installZodWords } from './zod-words';

installZodWords();

/** A text field of a submitted form ('' when absent; a file input is not text). */
export function formText(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}

/** A number field: undefined when empty (the schema's default or "Required"), NaN when not one. */
export function formNumber(form: FormData, name: string): number | undefined {
  const text = formText(form, name).trim();
  return text === '' ? undefined : Number(text);
}

/** A checkbox: true when checked. */
export function formChecked(form: FormData, name: string): boolean {
  return form.get(name) !== null;
}

/** Field name -> the first message for it; '' holds what belongs to no field. */
export type FieldErrors = Record<string, string>;

/** Messages read as sentences at a field, whichever schema wrote them. */
function sentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}

/** Which field an issue belongs to: by default its top-level key ('' for the whole form). */
export type FieldOf = (path: readonly PropertyKey[]) => string;
const topLevelField: FieldOf = (path) => (path.length ? String(path[0]) : '');

export function fieldErrorsOf(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  fieldOf: FieldOf = topLevelField,
) {
  const errors: FieldErrors = {};
  for (const issue of issues) {
    const field = fieldOf(issue.path);
    // a nested path (labels.site) says where inside the field
    const depth = field === '' ? 0 : field.split('.').length;
    const inner = issue.path.slice(depth).map(String).join('.');
    errors[field] ??= inner ? `${inner}: ${issue.message}` : sentence(issue.message);
  }
  return errors;
}

export type Validation<T> = { ok: true; data: T } | { ok: false; errors: FieldErrors };

export function validateWith<S extends z.ZodType>(
  schema: S,
  values: unknown,
  fieldOf?: FieldOf,
): Validation<z.output<S>> {
  const result = schema.safeParse(values);
  return result.success
    ? { ok: true, data: result.data }
    : { ok: false, errors: fieldErrorsOf(result.error.issues, fieldOf) };
}

/** Only the "too long" issues: shown while typing, before any submit. */
export function overLengthErrors(
  schema: z.ZodType,
  values: unknown,
  fieldOf?: FieldOf,
): FieldErrors {
  const result = schema.safeParse(values);
  if (result.success) return {};
  return fieldErrorsOf(
    result.error.issues.filter((issue) => issue.code === 'too_big' && issue.origin === 'string'),
    fieldOf,
  );
}

interface ServerErrorShape {
  message?: unknown;
  data?: {
    code?: unknown;
    zodError?: { fieldErrors?: Record<string, string[] | undefined> } | null;
    /** a domain error that names the field it is about (AppError's `field`) */
    field?: unknown;
  } | null;
}

/**
 * A failed call, split into what belongs at fields and what is about the whole form. Only
 * fields the form has are kept at fields; the rest stays in the form's message.
 */
export function serverErrorsOf(
  error: unknown,
  fields: readonly string[],
): { fields: FieldErrors; form: string | null } {
  const shape = (error ?? {}) as ServerErrorShape;
  const message = typeof shape.message === 'string' ? shape.message : 'Something went wrong.';
  const known = new Set(fields);
  const at: FieldErrors = {};
  for (const [field, messages] of Object.entries(shape.data?.zodError?.fieldErrors ?? {}))
    if (known.has(field) && messages?.[0]) at[field] = sentence(messages[0]);
  if (typeof shape.data?.field === 'string' && known.has(shape.data.field))
    at[shape.data.field] = message;
  if (Object.keys(at).length) return { fields: at, form: null };
  return { fields: {}, form: message };
}

export interface ZodFormOptions<S extends z.ZodType> {
  schema: S;
  /** the form's values as the procedure takes them (use formText / formNumber) */
  read: (form: FormData) => unknown;
  /** called with valid data; a rejected promise's error is mapped back to the fields */
  onValid: (data: z.output<S>, form: HTMLFormElement) => unknown;
  /** the fields this form shows (server errors for others go to the form's message) */
  fields: readonly string[];
  /** for a form with nested parts (rows of a list): which field shows an issue at `path` */
  fieldOf?: FieldOf;
}

export function useZodForm<S extends z.ZodType>(options: ZodFormOptions<S>) {
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const submitted = useRef(false);
  const latest = useRef(options);
  latest.current = options;

  const check = useCallback((form: HTMLFormElement) => {
    const { schema, read, fieldOf } = latest.current;
    const values = read(new FormData(form));
    if (submitted.current) {
      const result = validateWith(schema, values, fieldOf);
      setErrors(result.ok ? {} : result.errors);
    } else setErrors(overLengthErrors(schema, values, fieldOf));
  }, []);

  const onChange = useCallback(
    (event: ChangeEvent<HTMLFormElement> | FormEvent<HTMLFormElement>) => {
      check(event.currentTarget);
    },
    [check],
  );

  const onSubmit = useCallback(async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    submitted.current = true;
    const { schema, read, onValid, fields, fieldOf } = latest.current;
    const result = validateWith(schema, read(new FormData(form)), fieldOf);
    setFormError(null);
    if (!result.ok) {
      const { '': general, ...atFields } = result.errors;
      setErrors(atFields);
      if (general) setFormError(general);
      return;
    }
    setErrors({});
    try {
      await onValid(result.data, form);
    } catch (error) {
      const mapped = serverErrorsOf(error, fields);
      setErrors(mapped.fields);
      setFormError(mapped.form);
    }
  }, []);

  const reset = useCallback(() => {
    submitted.current = false;
    setErrors({});
    setFormError(null);
  }, []);

  return {
    errors,
    formError,
    reset,
    /** spread on the <form> */
    formProps: {
      onSubmit: (e: FormEvent<HTMLFormElement>) => void onSubmit(e),
      onChange,
      noValidate: true,
    },
  };
}
