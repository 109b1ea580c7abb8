/**
 * The record whose form hosts the control. Model-driven forms expose it on `context.mode.contextInfo` (and on
 * `context.page` in newer clients); neither is in the public typings, so it is read here in one place.
 */
export interface FormRecord {
  entityTypeName: string;
  /** Lower-case GUID without braces. */
  id: string;
}

interface ContextInfo {
  entityId?: string;
  entityTypeName?: string;
}

export function normalizeGuid(value: string): string {
  return value.replace(/[{}]/g, '').toLowerCase();
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isGuid(value: string): boolean {
  return GUID.test(normalizeGuid(value));
}

/** Undefined while the record is new (not saved yet): there is nothing linked to it. */
export function formRecordOf(context: ComponentFramework.Context<unknown>): FormRecord | undefined {
  const info =
    (context.mode as unknown as { contextInfo?: ContextInfo }).contextInfo ??
    (context as unknown as { page?: ContextInfo }).page;
  if (!info?.entityId || !info.entityTypeName || !isGuid(info.entityId)) return undefined;
  return { entityTypeName: info.entityTypeName, id: normalizeGuid(info.entityId) };
}
