/**
 * The ingest stage: verify, parse, validate, normalize, dedupe, store.
 * Checks run cheapest first and over the raw bytes (docs/providers.md, "Common to all providers"): the signature
 * before any parsing, so an unsigned request costs one HMAC and nothing else.
 * Nothing is stored unless every check passed; a stored event is durable before
 * this resolves, and nothing else is waited on.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { MediaConfig, SourceConfig } from '../../core/config.js';
import { RequestRejectedError, StoreUnavailableError } from '../../core/errors.js';
import type { IncomingWebhook, Provider } from '../../providers/provider.js';
import type { NormalizedEvent } from '../../core/event.js';
import type { EventRouting, InsertResult, NewEvent, Store } from '../../store/store.js';
import { enrichmentDueAt } from './enrich.js';
import { jsonShapeProblem } from '../events/json-shape.js';
import type { HeraldMetrics } from '../mechanisms/metrics.js';
import { normalizeEvent } from '../events/normalize.js';

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;
/** Strict UTF-8: invalid bytes are an error, and a BOM is kept (so JSON.parse refuses it: RFC 8259 §8.1). */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface IngestDeps {
  /** The configured sources; a function, so a config reload swaps them (a secret rotation goes live). */
  sources: () => Record<string, SourceConfig>;
  providers: Record<string, Provider>;
  store: Store;
  now?: () => number;
  /** Called after a new event was stored unrouted: wakes the route (and enrich) stage. */
  onStored?: () => void;
  /**
   * Routes an event as it is stored, in the same write (a store that cannot
   * leaves it to the route stage: NewEvent.route). Absent where this process
   * does not route; never asked for an event that waits for enrichment.
   */
  route?: (event: NormalizedEvent) => EventRouting;
  /** Called after an event was stored routed: what the route stage does after routing one (wakes deliver, raises alerts). */
  onRouted?: (routing: EventRouting) => void;
  /** The media archive, when configured: media events wait for it before routing (media-archive.ts). */
  media?: MediaConfig;
  metrics?: HeraldMetrics;
}

/** One Ajv for the process: creating one compiles its meta-schema, the larger part of the cost. */
let payloadAjv: Ajv | undefined;
/** Compiled payload validators by schema object: a compile is a pure function of the schema, so every herald started in this process shares it. */
const payloadValidators = new WeakMap<object, ValidateFunction>();

function payloadValidator(schema: object): ValidateFunction {
  let validate = payloadValidators.get(schema);
  if (!validate) {
    if (!payloadAjv) {
      // The providers' schemas are checked against the meta-schema by a test (test/config/schema-files.test.ts), not at every start.
      payloadAjv = new Ajv({ allErrors: false, strict: false, validateSchema: false });
      addFormats(payloadAjv);
    }
    validate = payloadAjv.compile(schema);
    payloadValidators.set(schema, validate);
  }
  return validate;
}

export class Ingest {
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly now: () => number;

  constructor(private readonly deps: IngestDeps) {
    this.now = deps.now ?? Date.now;
    // Each payload schema is compiled once, never per request: the configured sources' at start-up, and
    // a provider that a reload adds at its first request (a compile costs tens of milliseconds of CPU).
    for (const source of Object.values(deps.sources())) {
      const provider = deps.providers[source.provider];
      if (provider) this.validator(provider);
    }
  }

  private validator(provider: Provider): ValidateFunction {
    let validate = this.validators.get(provider.id);
    if (!validate) {
      validate = payloadValidator(provider.payloadSchema);
      this.validators.set(provider.id, validate);
    }
    return validate;
  }

  hasSource(name: string): boolean {
    return Object.hasOwn(this.deps.sources(), name);
  }

  /**
   * Takes one request for a configured source. Throws RequestRejectedError
   * (a 4xx) or StoreUnavailableError (503); resolves once the event is stored
   * or recognised as a duplicate.
   */
  async receive(sourceName: string, req: IncomingWebhook): Promise<InsertResult> {
    const source = this.deps.sources()[sourceName];
    if (!source) throw new Error(`unknown source "${sourceName}": check hasSource() first`);
    const provider = this.deps.providers[source.provider]!;
    const receivedAtMs = this.now();

    provider.verify(req, source, receivedAtMs);
    const payload = parseJsonObject(req.body);
    const shapeProblem = jsonShapeProblem(payload);
    if (shapeProblem) throw new RequestRejectedError(422, 'invalid-payload', shapeProblem);
    if (!this.validator(provider)(payload)) {
      throw new RequestRejectedError(422, 'invalid-payload');
    }
    const event = normalizeEvent(source, provider, payload, req, receivedAtMs);
    const enrichDueAtMs = enrichmentDueAt(source, event, receivedAtMs, this.deps.media);
    const newEvent: NewEvent = {
      event,
      dedupeKey: provider.dedupeKey(payload, req),
      dedupeUntilMs: receivedAtMs + source.dedupeWindowMs,
      // Routed once its provider's API has been asked, its media archived (enrich.ts).
      ...(enrichDueAtMs !== undefined && { enrichDueAtMs }),
    };
    const route = enrichDueAtMs === undefined ? this.deps.route : undefined;
    let routing: EventRouting | undefined;
    const endWrite = this.deps.metrics?.storeWriteSeconds.startTimer();
    let result: InsertResult;
    try {
      result = await this.deps.store.insertEvent(route ? { ...newEvent, route: () => (routing ??= route(event)) } : newEvent);
    } catch (error) {
      // The write failed on the routing's part (one event's deliveries could not be written; the store itself
      // is fine): store the event alone, and the route stage routes it with its own fallbacks.
      if (!route || error instanceof StoreUnavailableError) throw asUnavailable(error);
      routing = undefined;
      result = await this.deps.store.insertEvent(newEvent).catch((retryError: unknown) => {
        throw asUnavailable(retryError);
      });
    }
    endWrite?.();
    this.deps.metrics?.events.inc({ source: source.name, result: result.status });
    if (result.status === 'stored') {
      if (routing) this.deps.onRouted?.(routing);
      else this.deps.onStored?.();
    }
    return result;
  }
}

function asUnavailable(error: unknown): StoreUnavailableError {
  return error instanceof StoreUnavailableError ? error : new StoreUnavailableError(error);
}

/** The body as a JSON object; anything else (invalid UTF-8, bad JSON) is a 400. */
function parseJsonObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    throw new RequestRejectedError(400, 'malformed-json');
  }
  // Arrays and scalars are valid JSON but no provider sends them: the schema says so (422).
  return value as Record<string, unknown>;
}
