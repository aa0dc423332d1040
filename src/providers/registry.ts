/** The provider adapters by id. Adding a provider means one file and one line here. */
import type { EventProviderId, ProviderId } from '../core/event.js';
import { faceio } from './faceio.js';
import { facesign } from './facesign.js';
import { heraldEvents } from './herald.js';
import { legaltalent } from './legaltalent.js';
import { owleyes } from './owleyes.js';
import type { Provider, ProviderProfile } from './provider.js';

/** The webhook providers: what sources receive from. */
export const PROVIDERS: Record<ProviderId, Provider> = { facesign, faceio, legaltalent, owleyes };

/** Everyone a stored event can come from: the webhook providers and herald itself (routing, replay, templates). */
export const EVENT_PROVIDERS: Record<EventProviderId, ProviderProfile> = { ...PROVIDERS, herald: heraldEvents };
