/** The provider adapters by id. Adding a provider means one file and one line here. */
import type { ProviderId } from '../core/event.js';
import { faceio } from './faceio.js';
import { facesign } from './facesign.js';
import { legaltalent } from './legaltalent.js';
import { owleyes } from './owleyes.js';
import type { Provider } from './provider.js';

export const PROVIDERS: Record<ProviderId, Provider> = { facesign, faceio, legaltalent, owleyes };

export function providerFor(id: ProviderId): Provider {
  return PROVIDERS[id];
}
