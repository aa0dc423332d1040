/**
 * Downloads one media file (the media archive, pipeline/stages/media-archive.ts) over
 * the channels' outbound HTTP: the private-address guard unless
 * `media.allowPrivateNetwork`, no redirects followed, one time-out for the
 * whole download. The body is counted as it arrives and the download is cut
 * off the moment it passes `maxBytes`, so a host that sends too much costs no
 * more than the limit. Failures are MediaArchiveErrors whose messages never
 * hold the URL: its query is the provider's signature.
 */
import { MediaArchiveError } from '../core/errors.js';
import { classifyHttpFailure, parseRetryAfter, requestFailureError } from './http-status.js';
import { OutboundHttp } from './outbound-http.js';

const PEER = 'the media host';

export interface MediaDownloadSettings {
  maxBytes: number;
  timeoutMs: number;
  allowPrivateNetwork: boolean;
}

export interface DownloadedMedia {
  bytes: Buffer;
  /** The answer's Content-Type, without parameters, lower case; null when absent. */
  contentType: string | null;
}

export class MediaDownloader {
  private readonly http: OutboundHttp;

  constructor(private readonly settings: MediaDownloadSettings) {
    this.http = new OutboundHttp(settings.allowPrivateNetwork);
  }

  /** The file at `url`; throws MediaArchiveError (retryable for network errors, time-outs, 408, 429 and 5xx). */
  async download(url: string, now: number): Promise<DownloadedMedia> {
    const { maxBytes, timeoutMs } = this.settings;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const answer = await this.http.openStream(url, { signal, headers: { accept: '*/*' } });
      if (answer.status < 200 || answer.status > 299) {
        answer.discard();
        const { retryable } = classifyHttpFailure(answer.status);
        const retryAfterMs = parseRetryAfter(answer.header('retry-after'), now);
        throw new MediaArchiveError(retryable, `${PEER} answered HTTP ${answer.status}`, { ...(retryAfterMs !== undefined && { retryAfterMs }) });
      }
      const declared = Number(answer.header('content-length') ?? NaN);
      if (declared > maxBytes) {
        answer.discard();
        throw tooLarge(maxBytes, `it announced ${declared} bytes`);
      }
      const chunks: Uint8Array[] = [];
      let length = 0;
      for await (const chunk of answer.body) {
        length += chunk.length;
        if (length > maxBytes) {
          answer.discard();
          throw tooLarge(maxBytes, 'the download was cut off there');
        }
        chunks.push(chunk);
      }
      return { bytes: Buffer.concat(chunks, length), contentType: mediaType(answer.header('content-type')) };
    } catch (error) {
      if (error instanceof MediaArchiveError) throw error;
      const failure = requestFailureError(PEER, error, timeoutMs);
      const message =
        failure.reason === 'refused-address'
          ? `${PEER} resolves to a private or loopback address: set media.allowPrivateNetwork: true if it is meant to be internal`
          : failure.message;
      throw new MediaArchiveError(failure.retryable, message);
    }
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

function tooLarge(maxBytes: number, detail: string): MediaArchiveError {
  return new MediaArchiveError(false, `the file is larger than media.maxBytes (${maxBytes} bytes): ${detail}`);
}

/** `image/JPEG; charset=x` -> `image/jpeg`; null when absent or empty. */
export function mediaType(header: string | null | undefined): string | null {
  const type = header?.split(';')[0]!.trim().toLowerCase();
  return type ? type : null;
}
