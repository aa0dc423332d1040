/** The part of autocannon's programmatic API the bench uses (autocannon ships no types). */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface AutocannonRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  }

  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    /** Requests to send in all, instead of a duration. */
    amount?: number;
    /** Milliseconds between samples (default 1000); a run that ends by `amount` ends at the next sample. */
    sampleInt?: number;
    pipelining?: number;
    timeout?: number;
    requests?: Array<AutocannonRequest & { setupRequest?: (request: AutocannonRequest, context: object) => AutocannonRequest }>;
  }

  interface Histogram {
    p50: number;
    p90: number;
    p99: number;
    max: number;
  }

  interface Result {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    latency: Histogram;
  }

  interface Instance extends EventEmitter {
    stop(): void;
  }

  function autocannon(options: Options, callback: (error: Error | null, result: Result) => void): Instance;
  export default autocannon;
}
