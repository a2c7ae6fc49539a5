import { Agent, request } from 'node:http';

/** A keep-alive HTTP client for the load generators: node:http, no fetch overhead. */
export class HttpPoster {
  private readonly agent: Agent;

  constructor(
    private readonly url: URL,
    maxSockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  /** POSTs a JSON body; resolves with the status and the whole response text. */
  post(body: string, authorization?: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {
        'content-type': 'application/json',
        accept: 'application/json',
        'content-length': Buffer.byteLength(body),
      };
      if (authorization) headers.authorization = authorization;
      const req = request(this.url, { method: 'POST', agent: this.agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
