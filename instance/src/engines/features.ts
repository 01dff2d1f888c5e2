/**
 * Message actions, group administration and media are implemented per engine in a feature object
 * (`simulated/features.ts`, `webjs/features.ts`); {@link delegateFeatures} gives the engine class the `Engine`
 * methods of those features, each forwarding to the instance's `features` object. This keeps the engine classes to
 * their lifecycle (and under the 500-line limit) while callers see one `Engine`.
 */
import type { EngineActions } from './engine-actions.js';
import { EngineError } from './engine.js';
import type { EngineGroups } from './engine-groups.js';
import type { EngineMedia } from './engine-media.js';

/** The `Engine` methods implemented by feature objects. */
export type FeatureMethods = EngineActions & EngineGroups & EngineMedia;

/** Names of {@link FeatureMethods}, checked against the interfaces at compile time. */
const FEATURE_METHODS = [
  'react',
  'editMessage',
  'revokeMessage',
  'forwardMessage',
  'createGroup',
  'groupInfo',
  'setGroupSubject',
  'setGroupDescription',
  'changeParticipants',
  'groupInviteCode',
  'revokeGroupInvite',
  'leaveGroup',
  'sendMedia',
  'sendLocation',
  'sendContactCard',
  'downloadMedia',
] as const satisfies ReadonlyArray<keyof FeatureMethods>;

// Every method of the interfaces is listed (a new one must be added above).
type Missing = Exclude<keyof FeatureMethods, (typeof FEATURE_METHODS)[number]>;
const complete: [Missing] extends [never] ? true : Missing = true;
void complete;

/** Defines each of {@link FEATURE_METHODS} on `proto` as a call of `this.features.<method>(…)`. */
export function delegateFeatures(proto: { features: FeatureMethods }): void {
  for (const name of FEATURE_METHODS) {
    Object.defineProperty(proto, name, {
      configurable: true,
      writable: true,
      value(this: { features: FeatureMethods }, ...args: unknown[]) {
        return (this.features[name] as (...a: unknown[]) => unknown).apply(this.features, args);
      },
    });
  }
}

/** Feature methods of an engine that offers none (benchmark engines): each rejects with EngineError `not_supported`. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the methods are defined in the constructor
export class RefusedFeatures implements FeatureMethods {
  constructor() {
    for (const name of FEATURE_METHODS) {
      Object.defineProperty(this, name, {
        value: () => Promise.reject(new EngineError('not_supported', `this engine does not offer ${name}`)),
      });
    }
  }
}
// The methods are defined in the constructor.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type -- see above
export interface RefusedFeatures extends FeatureMethods {}
