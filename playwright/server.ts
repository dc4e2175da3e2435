import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The server binary `make build` writes.
export const serverBinary = path.resolve(__dirname, '..', 'bin', 'tether');

export interface ServerOptions {
  dev?: boolean;
  /** Extra flags, e.g. ['-faults']. */
  args?: string[];
  /** Data folder; a fresh temporary one by default. */
  dataDir?: string;
  /** Address; a free loopback port by default. */
  addr?: string;
  /** Environment variables beside the test's own (TETHER_SECRET, TETHER_API_KEY). */
  env?: Record<string, string>;
}

/** A tether server process started for tests. */
export class TetherServer {
  readonly url: string;
  readonly dataDir: string;
  private readonly proc: ChildProcess;
  private readonly ownsData: boolean;
  private readonly exited: Promise<number | null>;
  readonly output: string[];

  private constructor(proc: ChildProcess, url: string, dataDir: string, ownsData: boolean,
    exited: Promise<number | null>, output: string[]) {
    this.proc = proc;
    this.url = url;
    this.dataDir = dataDir;
    this.ownsData = ownsData;
    this.exited = exited;
    this.output = output;
  }

  /** Starts the server and resolves once it prints the URL it serves. */
  static async start(opts: ServerOptions = {}): Promise<TetherServer> {
    const ownsData = !opts.dataDir;
    const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'tether-e2e-'));
    const args = ['-addr', opts.addr ?? '127.0.0.1:0', '-data', dataDir];
    if (opts.dev ?? true) args.push('-dev');
    args.push(...(opts.args ?? []));
    const proc = spawn(serverBinary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    const output: string[] = [];
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start in 20 s:\n${output.join('')}`)), 20_000);
      const onData = (chunk: Buffer) => {
        output.push(chunk.toString());
        const m = /tether serving (http:\/\/\S+?)\/?\s/.exec(output.join(''));
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      proc.on('error', (err) => { clearTimeout(timer); reject(err); });
      exited.then((code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${output.join('')}`)); });
    });
    return new TetherServer(proc, url, dataDir, ownsData, exited, output);
  }

  /** Switches faults of the test backend (the server needs -faults). */
  async faults(settings: Record<string, unknown>): Promise<void> {
    const res = await fetch(`${this.url}/api/test/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(settings),
    });
    if (res.status !== 200) throw new Error(`faults ${JSON.stringify(settings)}: ${res.status} ${await res.text()}`);
  }

  /** Stops the server gracefully (SIGTERM) and removes its data if it made it. */
  async stop(): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    const code = await this.exited;
    if (this.ownsData) rmSync(this.dataDir, { recursive: true, force: true });
    return code;
  }

  /** Kills the server at once (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * A server that keeps its address and data across crashes and restarts,
 * the way an operator's process manager would bring it back.
 */
export class RestartableServer {
  readonly dataDir: string;
  readonly args: string[];
  private addr = '127.0.0.1:0';
  current: TetherServer | null = null;

  private constructor(dataDir: string, args: string[]) {
    this.dataDir = dataDir;
    this.args = args;
  }

  /** Starts a dev server with the test backend (-faults) on a free port. */
  static async start(args: string[] = ['-faults']): Promise<RestartableServer> {
    const s = new RestartableServer(mkdtempSync(path.join(tmpdir(), 'tether-e2e-')), args);
    await s.up();
    return s;
  }

  get url(): string {
    return `http://${this.addr}`;
  }

  /** Starts the server again on the same address and data. */
  async up(): Promise<void> {
    this.current = await TetherServer.start({ addr: this.addr, dataDir: this.dataDir, args: this.args });
    this.addr = new URL(this.current.url).host;
  }

  /** kill -9, as a crash. */
  async kill(): Promise<void> {
    await this.current?.kill();
    this.current = null;
  }

  /** SIGTERM: the server drains its clients and exits; resolves with its exit code. */
  async terminate(): Promise<number | null> {
    const code = (await this.current?.stop()) ?? null;
    this.current = null;
    return code;
  }

  async faults(settings: Record<string, unknown>): Promise<void> {
    await this.current!.faults(settings);
  }

  /** Stops the server and removes its data. */
  async dispose(): Promise<void> {
    await this.current?.stop();
    this.current = null;
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
