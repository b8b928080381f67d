// The admin API of a running test server (tests, the bench and the demo use
// it to set the server up and read what it received).
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';

export class AdminClient {
  private readonly agent: Agent;

  constructor(readonly baseUrl: string, private readonly key: string, caFile: string) {
    this.agent = new Agent({ connect: { ca: readFileSync(caFile, 'utf8') } });
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  protected async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const res = await request(`${this.baseUrl}/__admin/${path}`, {
      method,
      dispatcher: this.agent,
      headers: { 'x-admin-key': this.key, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`admin ${path}: HTTP ${res.statusCode} ${text}`);
    return JSON.parse(text) as unknown;
  }
}
