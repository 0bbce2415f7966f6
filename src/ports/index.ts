// The ports the engine and daemon depend on (adapters implement them; the composition root wires them).
export type { PolicySource, PolicySnapshot, AppliedRevision } from './policy-source.js';
export type { Clock } from './clock.js';
export type { Notifier } from './notifier.js';
export type { ConsoleService, Principal, Role } from './console.js';
