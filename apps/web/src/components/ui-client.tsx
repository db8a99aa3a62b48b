'use client';
// The interactive primitives, on Radix (radix-ui): dialogs, confirmations, selects, tooltips,
// tabs, checkboxes, switches, menus, and the form field that ties a label, its control and its
// error together for assistive technology. Re-exported by ui.tsx, the one import for pages.
import { Check, ChevronDown, Copy, MoreHorizontal, X } from 'lucide-react';
import {
  AlertDialog as AlertDialogPrimitive,
  Checkbox as CheckboxPrimitive,
  Dialog as DialogPrimitive,
  DropdownMenu as DropdownMenuPrimitive,
  Label as LabelPrimitive,
  Select as SelectPrimitive,
  Switch as SwitchPrimitive,
  Tabs as TabsPrimitive,
  Tooltip as TooltipPrimitive,
} from 'radix-ui';
import {
  createContext,
  useContext,
  useEffect,
  useId,
  useRef,
  useState,
  type ButtonHTMLAttributes,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
} from 'react';

/** A visible focus ring on every interactive thing (keyboard users must see where they are). */
export const FOCUS_RING =
  'focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-700';

export function Button({
  variant = 'primary',
  className = '',
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & {
  variant?: 'primary' | 'secondary' | 'danger' | 'ghost';
}) {
  const styles = {
    primary: 'bg-ink text-white hover:bg-brand-700 disabled:bg-slate-500',
    secondary:
      'border border-slate-300 bg-white text-slate-800 hover:bg-slate-50 disabled:text-slate-500',
    danger: 'bg-red-700 text-white hover:bg-red-800 disabled:bg-slate-500',
    ghost: 'text-slate-700 hover:bg-slate-100 disabled:text-slate-500',
  }[variant];
  return (
    <button
      type="button"
      className={`inline-flex items-center justify-center gap-1 rounded-md px-3 py-2 text-sm font-medium transition-colors disabled:cursor-not-allowed ${FOCUS_RING} ${styles} ${className}`}
      {...props}
    />
  );
}

interface FieldControl {
  id: string;
  describedBy: string | undefined;
  invalid: boolean;
}
const FieldContext = createContext<FieldControl | null>(null);

/** For a custom control inside a Field: its id, aria-describedby and aria-invalid. */
export function useFieldControl(): FieldControl | null {
  return useContext(FieldContext);
}

/**
 * A label, its control, a hint and the error in words. The control (TextInput, Select,
 * SelectMenu, TextArea) gets the id, aria-invalid and aria-describedby from here; the message
 * is announced politely and leaves as soon as it no longer applies.
 */
export function Field({
  label,
  error,
  hint,
  children,
  className = '',
}: {
  label: string;
  error?: string;
  hint?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ');
  return (
    <FieldContext.Provider
      value={{ id, describedBy: describedBy || undefined, invalid: Boolean(error) }}
    >
      <div className={`block min-w-0 text-sm ${className}`}>
        {/* the label wraps its control (no htmlFor), so a plain <input> inside is labelled too */}
        <LabelPrimitive.Root className="block">
          <span className="font-medium text-slate-700">{label}</span>
          <div className="mt-1">{children}</div>
        </LabelPrimitive.Root>
        {hint && (
          <p id={hintId} className="mt-1 text-xs text-slate-600">
            {hint}
          </p>
        )}
        <p
          id={errorId}
          aria-live="polite"
          className="mt-1 text-xs text-red-700 empty:hidden"
          data-testid="field-error"
        >
          {error}
        </p>
      </div>
    </FieldContext.Provider>
  );
}

const CONTROL =
  'w-full min-w-0 rounded-md border bg-white px-3 py-2 text-sm text-slate-900 placeholder:text-slate-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-600 disabled:bg-slate-100';

function controlProps(field: FieldControl | null, props: { id?: string }) {
  return {
    id: props.id ?? field?.id,
    'aria-invalid': field?.invalid || undefined,
    'aria-describedby': field?.describedBy,
    className: `${CONTROL} ${field?.invalid ? 'border-red-600' : 'border-slate-300 focus:border-brand-600'}`,
  };
}

export function TextInput(props: InputHTMLAttributes<HTMLInputElement>) {
  const field = useFieldControl();
  return <input {...controlProps(field, props)} {...props} />;
}

export function TextArea(props: TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const field = useFieldControl();
  return <textarea {...controlProps(field, props)} {...props} />;
}

/** The native select (forms read it with FormData; the platform's keyboard and screen-reader support). */
export function Select(props: SelectHTMLAttributes<HTMLSelectElement>) {
  const field = useFieldControl();
  return <select {...controlProps(field, props)} {...props} />;
}

export interface SelectOption {
  value: string;
  label: string;
  /** a second line: size, hash prefix, why it is disabled */
  detail?: string;
  disabled?: boolean;
}

/** A styled list (Radix Select): options with a detail line; with `name` it takes part in forms. */
export function SelectMenu({
  value,
  onValueChange,
  options,
  placeholder = 'Choose…',
  name,
  disabled,
  'aria-label': ariaLabel,
}: {
  value: string | undefined;
  onValueChange: (value: string) => void;
  options: readonly SelectOption[];
  placeholder?: string;
  name?: string;
  disabled?: boolean;
  'aria-label'?: string;
}) {
  const field = useFieldControl();
  return (
    <SelectPrimitive.Root
      value={value}
      onValueChange={onValueChange}
      name={name}
      disabled={disabled}
    >
      <SelectPrimitive.Trigger
        id={field?.id}
        aria-label={ariaLabel}
        aria-invalid={field?.invalid || undefined}
        aria-describedby={field?.describedBy}
        className={`${CONTROL} ${field?.invalid ? 'border-red-600' : 'border-slate-300'} inline-flex items-center justify-between gap-2 text-left`}
      >
        <span className="truncate">
          <SelectPrimitive.Value placeholder={placeholder} />
        </span>
        <SelectPrimitive.Icon>
          <ChevronDown aria-hidden className="size-4 text-slate-600" />
        </SelectPrimitive.Icon>
      </SelectPrimitive.Trigger>
      <SelectPrimitive.Portal>
        <SelectPrimitive.Content
          position="popper"
          sideOffset={4}
          className="z-50 max-h-80 min-w-[var(--radix-select-trigger-width)] max-w-[min(36rem,90vw)] overflow-hidden rounded-md border border-slate-200 bg-white shadow-lg"
        >
          <SelectPrimitive.Viewport className="p-1">
            {options.map((option) => (
              <SelectPrimitive.Item
                key={option.value}
                value={option.value}
                disabled={option.disabled}
                className="relative flex cursor-default select-none flex-col rounded px-7 py-1.5 text-sm text-slate-900 outline-none data-[disabled]:text-slate-500 data-[highlighted]:bg-brand-50"
              >
                <SelectPrimitive.ItemIndicator className="absolute left-2 top-2">
                  <Check aria-hidden className="size-4" />
                </SelectPrimitive.ItemIndicator>
                <SelectPrimitive.ItemText>{option.label}</SelectPrimitive.ItemText>
                {option.detail && (
                  <span className="break-words text-xs text-slate-600">{option.detail}</span>
                )}
              </SelectPrimitive.Item>
            ))}
          </SelectPrimitive.Viewport>
        </SelectPrimitive.Content>
      </SelectPrimitive.Portal>
    </SelectPrimitive.Root>
  );
}

/** A hint on hover and on keyboard focus (the trigger must be focusable, e.g. a button). */
export function Tooltip({
  content,
  children,
  side = 'top',
}: {
  content: ReactNode;
  children: ReactNode;
  side?: 'top' | 'bottom' | 'left' | 'right';
}) {
  return (
    <TooltipPrimitive.Provider delayDuration={300}>
      <TooltipPrimitive.Root>
        <TooltipPrimitive.Trigger asChild>{children}</TooltipPrimitive.Trigger>
        <TooltipPrimitive.Portal>
          <TooltipPrimitive.Content
            side={side}
            sideOffset={4}
            className="z-50 max-w-[min(32rem,90vw)] break-all rounded bg-slate-900 px-2 py-1 font-mono text-xs text-white shadow"
          >
            {content}
            <TooltipPrimitive.Arrow className="fill-slate-900" />
          </TooltipPrimitive.Content>
        </TooltipPrimitive.Portal>
      </TooltipPrimitive.Root>
    </TooltipPrimitive.Provider>
  );
}

/**
 * A long value (hash, token prefix, id) shown short: the first `chars` characters, the whole
 * value in a tooltip and on the clipboard with one click. Never wider than its container.
 */
export function CopyableHash({
  value,
  chars = 12,
  label = 'hash',
}: {
  value: string;
  chars?: number;
  label?: string;
}) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(timer);
  }, [copied]);
  const shown = value.length > chars ? `${value.slice(0, chars)}…` : value;
  return (
    <span className="inline-flex max-w-full items-center gap-1 align-middle" data-value={value}>
      <Tooltip content={value}>
        <button
          type="button"
          className={`truncate rounded font-mono text-xs text-slate-800 ${FOCUS_RING}`}
          aria-label={`${label} ${value}`}
          onClick={() => {
            void navigator.clipboard?.writeText(value).then(() => setCopied(true));
          }}
        >
          {shown}
        </button>
      </Tooltip>
      <button
        type="button"
        className={`shrink-0 rounded p-0.5 text-slate-600 hover:bg-slate-100 hover:text-slate-900 ${FOCUS_RING}`}
        aria-label={copied ? `${label} copied` : `Copy ${label}`}
        onClick={() => {
          void navigator.clipboard?.writeText(value).then(() => setCopied(true));
        }}
      >
        {copied ? (
          <Check aria-hidden className="size-3.5" />
        ) : (
          <Copy aria-hidden className="size-3.5" />
        )}
      </button>
    </span>
  );
}

/** Text that may be very long (a name, an email): cut with "…" at its container, whole in a tooltip. */
export function TruncatedText({ text, className = '' }: { text: string; className?: string }) {
  return (
    <Tooltip content={text}>
      <span tabIndex={0} className={`block min-w-0 truncate rounded ${FOCUS_RING} ${className}`}>
        {text}
      </span>
    </Tooltip>
  );
}

/**
 * Where focus goes back to when a dialog without a Trigger closes (opened from a menu or a
 * button elsewhere): the element that had it when the dialog opened, as Radix does for its Trigger.
 */
function useReturnFocus(hasTrigger: boolean) {
  const previous = useRef<HTMLElement | null>(null);
  return {
    onOpenAutoFocus: () => {
      // runs before focus moves into the dialog
      previous.current =
        document.activeElement instanceof HTMLElement ? document.activeElement : null;
    },
    onCloseAutoFocus: (event: Event) => {
      if (hasTrigger || !previous.current?.isConnected) return;
      event.preventDefault();
      previous.current.focus();
    },
  };
}

/** A modal dialog (focus trapped, Escape closes, focus returns to the trigger). */
export function Dialog({
  open,
  onOpenChange,
  title,
  description,
  children,
  trigger,
}: {
  open?: boolean;
  onOpenChange?: (open: boolean) => void;
  title: string;
  description?: ReactNode;
  children: ReactNode;
  trigger?: ReactNode;
}) {
  const returnFocus = useReturnFocus(Boolean(trigger));
  return (
    <DialogPrimitive.Root open={open} onOpenChange={onOpenChange}>
      {trigger && <DialogPrimitive.Trigger asChild>{trigger}</DialogPrimitive.Trigger>}
      <DialogPrimitive.Portal>
        <DialogPrimitive.Overlay className="fixed inset-0 z-40 bg-slate-900/40" />
        <DialogPrimitive.Content
          className="fixed left-1/2 top-1/2 z-50 max-h-[90vh] w-[min(40rem,calc(100vw-2rem))] -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded-lg bg-white p-5 shadow-xl focus:outline-none"
          {...(description ? {} : { 'aria-describedby': undefined })}
          {...returnFocus}
        >
          <div className="mb-4 flex items-start justify-between gap-4">
            <DialogPrimitive.Title className="text-lg font-semibold text-ink">
              {title}
            </DialogPrimitive.Title>
            <DialogPrimitive.Close
              className={`rounded p-1 text-slate-600 hover:bg-slate-100 ${FOCUS_RING}`}
              aria-label="Close"
            >
              <X aria-hidden className="size-4" />
            </DialogPrimitive.Close>
          </div>
          {description && (
            <DialogPrimitive.Description className="mb-4 text-sm text-slate-600">
              {description}
            </DialogPrimitive.Description>
          )}
          {children}
        </DialogPrimitive.Content>
      </DialogPrimitive.Portal>
    </DialogPrimitive.Root>
  );
}

/**
 * "Are you sure?" that says what will happen. Confirm stays open while `pending`, so a failure
 * can be shown in `error` instead of vanishing with the dialog.
 */
export function ConfirmDialog({
  open,
  onOpenChange,
  title,
  description,
  confirmLabel,
  tone = 'danger',
  pending = false,
  error,
  onConfirm,
  trigger,
}: {
  open?: boolean;
  onOpenChange?: (open: boolean) => void;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  tone?: 'danger' | 'primary';
  pending?: boolean;
  error?: string | null;
  onConfirm: () => void;
  trigger?: ReactNode;
}) {
  const returnFocus = useReturnFocus(Boolean(trigger));
  return (
    <AlertDialogPrimitive.Root open={open} onOpenChange={onOpenChange}>
      {trigger && <AlertDialogPrimitive.Trigger asChild>{trigger}</AlertDialogPrimitive.Trigger>}
      <AlertDialogPrimitive.Portal>
        <AlertDialogPrimitive.Overlay className="fixed inset-0 z-40 bg-slate-900/40" />
        <AlertDialogPrimitive.Content
          {...returnFocus}
          className="fixed left-1/2 top-1/2 z-50 w-[min(32rem,calc(100vw-2rem))] -translate-x-1/2 -translate-y-1/2 rounded-lg bg-white p-5 shadow-xl focus:outline-none"
        >
          <AlertDialogPrimitive.Title className="text-lg font-semibold text-ink">
            {title}
          </AlertDialogPrimitive.Title>
          <AlertDialogPrimitive.Description className="mt-2 break-words text-sm text-slate-700">
            {description}
          </AlertDialogPrimitive.Description>
          {error && (
            <p role="alert" className="mt-3 text-sm text-red-700">
              {error}
            </p>
          )}
          <div className="mt-5 flex justify-end gap-2">
            <AlertDialogPrimitive.Cancel asChild>
              <Button variant="secondary">Cancel</Button>
            </AlertDialogPrimitive.Cancel>
            <Button
              variant={tone}
              disabled={pending}
              onClick={(event) => {
                event.preventDefault();
                onConfirm();
              }}
            >
              {confirmLabel}
            </Button>
          </div>
        </AlertDialogPrimitive.Content>
      </AlertDialogPrimitive.Portal>
    </AlertDialogPrimitive.Root>
  );
}

export function Checkbox({
  checked,
  onCheckedChange,
  label,
  name,
  disabled,
}: {
  checked?: boolean;
  onCheckedChange?: (checked: boolean) => void;
  label: ReactNode;
  name?: string;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <span className="inline-flex items-center gap-2 text-sm">
      <CheckboxPrimitive.Root
        id={id}
        name={name}
        checked={checked}
        disabled={disabled}
        onCheckedChange={(value) => onCheckedChange?.(value === true)}
        className={`flex size-4 shrink-0 items-center justify-center rounded border border-slate-500 bg-white data-[state=checked]:border-ink data-[state=checked]:bg-ink ${FOCUS_RING}`}
      >
        <CheckboxPrimitive.Indicator>
          <Check aria-hidden className="size-3 text-white" />
        </CheckboxPrimitive.Indicator>
      </CheckboxPrimitive.Root>
      <LabelPrimitive.Root htmlFor={id} className="text-slate-800">
        {label}
      </LabelPrimitive.Root>
    </span>
  );
}

export function Switch({
  checked,
  onCheckedChange,
  label,
  name,
  disabled,
}: {
  checked?: boolean;
  onCheckedChange?: (checked: boolean) => void;
  label: ReactNode;
  name?: string;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <span className="inline-flex items-center gap-2 text-sm">
      <SwitchPrimitive.Root
        id={id}
        name={name}
        checked={checked}
        disabled={disabled}
        onCheckedChange={onCheckedChange}
        className={`relative h-5 w-9 shrink-0 rounded-full bg-slate-400 data-[state=checked]:bg-brand-700 ${FOCUS_RING}`}
      >
        <SwitchPrimitive.Thumb className="block size-4 translate-x-0.5 rounded-full bg-white shadow transition-transform data-[state=checked]:translate-x-4" />
      </SwitchPrimitive.Root>
      <LabelPrimitive.Root htmlFor={id} className="text-slate-800">
        {label}
      </LabelPrimitive.Root>
    </span>
  );
}

export const TabsRoot = TabsPrimitive.Root;
export const TabsContent = TabsPrimitive.Content;

export function TabsList({ children, label }: { children: ReactNode; label: string }) {
  return (
    <TabsPrimitive.List aria-label={label} className="mb-4 flex gap-1 border-b border-slate-200">
      {children}
    </TabsPrimitive.List>
  );
}

export function TabsTrigger({ value, children }: { value: string; children: ReactNode }) {
  return (
    <TabsPrimitive.Trigger
      value={value}
      className={`-mb-px border-b-2 border-transparent px-3 py-2 text-sm text-slate-700 hover:text-ink data-[state=active]:border-ink data-[state=active]:font-medium data-[state=active]:text-ink ${FOCUS_RING}`}
    >
      {children}
    </TabsPrimitive.Trigger>
  );
}

export interface MenuAction {
  label: string;
  onSelect: () => void;
  tone?: 'danger';
  disabled?: boolean;
}

/** A "more actions" menu (Radix DropdownMenu: arrow keys, Escape, type-ahead). */
export function ActionMenu({ label, actions }: { label: string; actions: readonly MenuAction[] }) {
  return (
    <DropdownMenuPrimitive.Root>
      <DropdownMenuPrimitive.Trigger asChild>
        <Button variant="ghost" aria-label={label} className="px-2">
          <MoreHorizontal aria-hidden className="size-4" />
        </Button>
      </DropdownMenuPrimitive.Trigger>
      <DropdownMenuPrimitive.Portal>
        <DropdownMenuPrimitive.Content
          align="end"
          sideOffset={4}
          className="z-50 min-w-40 rounded-md border border-slate-200 bg-white p-1 shadow-lg"
        >
          {actions.map((action) => (
            <DropdownMenuPrimitive.Item
              key={action.label}
              disabled={action.disabled}
              onSelect={action.onSelect}
              className={`cursor-default rounded px-2 py-1.5 text-sm outline-none data-[disabled]:text-slate-500 data-[highlighted]:bg-brand-50 ${action.tone === 'danger' ? 'text-red-700' : 'text-slate-800'}`}
            >
              {action.label}
            </DropdownMenuPrimitive.Item>
          ))}
        </DropdownMenuPrimitive.Content>
      </DropdownMenuPrimitive.Portal>
    </DropdownMenuPrimitive.Root>
  );
}
