/**
 * Closed-loop load with wrk (https://github.com/wg/wrk), a load generator in
 * C: about a tenth of autocannon's CPU per request, so on a machine of two
 * cores nearly all of the second one is left to the server measured (herald
 * with its deliver thread, or the baseline). Each request must be a distinct,
 * signed event (herald dedupes by event id) and wrk's LuaJIT has no HMAC: the
 * requests are signed ahead, written to a pool file, and a Lua script sends
 * each once. Should the pool run out, the script starts it again and says so
 * (the run is then marked `exhausted`: herald answered duplicates, cheaply).
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClosedLoadJob, ClosedLoadResult, SignedRequest } from './common.js';

/** How to get wrk, for the message when it is missing. */
export const WRK_INSTALL = 'apt-get install -y wrk (Debian, Ubuntu), dnf install wrk (Fedora), brew install wrk (macOS)';

/** wrk's path on PATH, or undefined. */
export function findWrk(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'wrk');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** wrk's version line ("wrk 4.1.0 ..."), for the report. */
export function wrkVersion(wrk: string): string {
  // `wrk --version` prints its banner and usage, and exits 1.
  try {
    return firstLine(execFileSync(wrk, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (error) {
    return firstLine(String((error as { stdout?: string }).stdout ?? ''));
  }
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')[0]!
      .replace(/\s*Copyright.*$/, '')
      .trim() || 'wrk'
  );
}

/**
 * The Lua script. Line 1 of the pool file names the headers; each other line
 * is one request: the header values, then the body, tab-separated. Thread i
 * of n takes lines i, i + n, ... and sends each once, in order.
 */
const SCRIPT = String.raw`
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  thread:set("nthreads", NTHREADS)
  thread:set("wrapped", 0)
  table.insert(threads, thread)
  counter = counter + 1
end

local function split(line)
  local fields = {}
  for field in string.gmatch(line, "([^\t]*)\t?") do
    if field ~= "" then table.insert(fields, field) end
  end
  return fields
end

local requests = {}
local nextIndex = 1

function init(args)
  local file = assert(io.open(POOL, "r"))
  local names = nil
  local k = 0
  for line in file:lines() do
    if names == nil then
      names = split(line)
    else
      if k % nthreads == id then
        local fields = {}
        local start = 1
        for i = 1, #names do
          local tab = string.find(line, "\t", start, true)
          fields[i] = string.sub(line, start, tab - 1)
          start = tab + 1
        end
        local headers = {}
        for i = 1, #names do headers[names[i]] = fields[i] end
        requests[#requests + 1] = wrk.format("POST", PATH, headers, string.sub(line, start))
      end
      k = k + 1
    end
  end
  file:close()
  -- The bench reads wrk's CPU time here: loading the pool is not load. os.clock(): wrk's CPU seconds so far, all threads.
  io.write("WRK_READY " .. os.clock() .. "\n")
  io.flush()
end

function request()
  if nextIndex > #requests then
    nextIndex = 1
    wrapped = 1
  end
  local r = requests[nextIndex]
  nextIndex = nextIndex + 1
  return r
end

function done(summary, latency, requests)
  local wrappedThreads = 0
  for _, thread in ipairs(threads) do wrappedThreads = wrappedThreads + thread:get("wrapped") end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"wrapped":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, wrappedThreads))
end
`;

/**
 * Appended to the script for a job with a count: each connection takes the
 * next unsent request of its thread's share (delay() reserves it; a
 * connection with none left waits an hour; request() is redefined, as wrk's
 * check before the run takes one), and the thread stops once every
 * one is answered and says so, with wrk's CPU time (os.clock(), in
 * microseconds: a few hundred requests take less than /proc's 10 ms tick);
 * the bench then interrupts wrk's timer (SIGINT ends the run early, results
 * and all) instead of waiting out whole seconds.
 */
const COUNT_SCRIPT = String.raw`
local reserved = 0
local answered = 0

-- Before the run wrk calls request() once to check what it returns (thread 0 only), and does not send it:
-- that one goes last, so every request of the share is sent exactly once, and never counts as wrapped.
function request()
  local r = requests[nextIndex]
  nextIndex = nextIndex % #requests + 1
  return r
end

function delay()
  if reserved < #requests then
    reserved = reserved + 1
    return 0
  end
  return 3600000
end

function response()
  answered = answered + 1
  if answered == #requests then
    io.write("WRK_DONE " .. os.clock() .. "\n")
    io.flush()
    wrk.thread:stop()
  end
end
`;

/** A run with a count that has not ended by then has lost requests (connection errors): wrk stops on its own. */
const COUNT_LIMIT_S = 60;

interface WrkSummary {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  wrapped: number;
}

/** CPU seconds of this process's finished (waited-for) children: /proc/self/stat cutime + cstime. */
function childrenCpuS(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** CPU seconds (user + system) of a live process. */
function processCpuS(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Runs one closed-loop job with wrk over the signed `pool`: for whole seconds
 * (wrk takes no fractions), or until `job.count` requests are answered. Its
 * CPU is wrk's own (a child of this process).
 */
export async function runWrk(wrk: string, job: ClosedLoadJob, pool: SignedRequest[], threads = 1): Promise<ClosedLoadResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-bench-wrk-'));
  try {
    const names = Object.keys(pool[0]!.headers);
    const lines = [names.join('\t')];
    for (const { headers, body } of pool) {
      const text = body.toString('utf8');
      if (/[\t\n]/.test(text) || names.some((n) => /[\t\n]/.test(headers[n]!))) throw new Error('a signed request holds a tab or a newline');
      lines.push(`${names.map((n) => headers[n]).join('\t')}\t${text}`);
    }
    const poolFile = path.join(dir, 'pool.tsv');
    writeFileSync(poolFile, `${lines.join('\n')}\n`);
    const url = new URL(job.url);
    const script = path.join(dir, 'pool.lua');
    const counted = job.count !== undefined;
    writeFileSync(
      script,
      `POOL = ${JSON.stringify(poolFile)}\nPATH = ${JSON.stringify(url.pathname)}\nNTHREADS = ${threads}\n${SCRIPT}${counted ? COUNT_SCRIPT : ''}`,
    );
    const cpuBefore = childrenCpuS();
    const child = spawn(
      wrk,
      [
        `-t${threads}`,
        `-c${Math.max(job.connections, threads)}`,
        `-d${counted ? COUNT_LIMIT_S : Math.max(1, Math.round(job.durationS))}s`,
        '--timeout',
        '10s',
        '-s',
        script,
        `${url.origin}/`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    // Its CPU until every thread has loaded its share of the pool (not counted: signing beforehand is not either).
    let setupCpuS = 0;
    let ready = 0;
    let interrupt: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const marks = stdout.split('WRK_READY').length - 1;
      if (marks > ready && (ready = marks) === threads) setupCpuS = processCpuS(child.pid!);
      if (counted && !interrupt && stdout.split('WRK_DONE').length - 1 === threads) {
        // Every thread is done: end wrk's sleep now (again, should the first signal come before wrk handles it).
        child.kill('SIGINT');
        interrupt = setInterval(() => child.kill('SIGINT'), 200);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'close').finally(() => clearInterval(interrupt))) as [number | null];
    // With a count, wrk's own clock from the last thread ready to the last done; else /proc, from its set-up's end to its exit.
    const clocks = (mark: string) => Array.from(stdout.matchAll(new RegExp(`^${mark} ([\\d.e+-]+)$`, 'gm')), (m) => Number(m[1]));
    const cpuS = counted ? Math.max(...clocks('WRK_DONE')) - Math.max(...clocks('WRK_READY')) : childrenCpuS() - cpuBefore - setupCpuS;
    const line = /^WRK_RESULT (.*)$/m.exec(stdout)?.[1];
    if (code !== 0 || !line) throw new Error(`wrk failed (exit ${String(code)}): ${stderr.trim() || stdout.trim()}`);
    const s = JSON.parse(line) as WrkSummary;
    const durationS = s.durationUs / 1e6;
    // wrk counts answers of 400 and up as status errors; a 3xx would count as ok (herald sends none).
    const failed = s.status + s.connect + s.read + s.write + s.timeout;
    const ok = s.requests - s.status;
    return {
      kind: 'closed',
      durationS,
      ok,
      failed,
      rps: ok / durationS,
      latencyMs: { p50: s.p50 / 1000, p90: s.p90 / 1000, p99: s.p99 / 1000, max: s.max / 1000 },
      exhausted: s.wrapped > 0,
      cpuS,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
