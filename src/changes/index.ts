/**
 * The change domain's public entry point.
 */
export { createChangeService } from './service.js';
export type { ChangeServiceDeps } from './service.js';
export { SILENT_PROBE } from './probe.js';
export type { ContendedLock, DomainProbe, RecoveryAction } from './probe.js';
export type {
  ActiveChange,
  ActivePage,
  CallContext,
  ChangeArchiveInput,
  ChangeArchiveResult,
  ChangeEvent,
  ChangeEventSink,
  ChangeOpenInput,
  ChangeOpenResult,
  ChangeService,
  Lock,
  ProgressFn,
  Recovery,
  ResourceContent,
} from './types.js';
