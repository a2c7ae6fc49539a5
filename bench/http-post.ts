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

  /**
   * POSTs a JSON body; resolves with the status and the whole response text.
   * A keep-alive connection the server closed while idle (its keepAliveTimeout,
   * 5 s in Node, passes during a long quiet-machine wait) resets the request
   * written to it: that request never reached the server, so it is sent once more
   * on a new connection (what Node's docs advise for `request.reusedSocket`).
   */
  async post(body: string, authorization?: string): Promise<{ status: number; text: string }> {
    try {
      return await this.once(body, authorization);
    } catch (error) {
      if (!(error instanceof StaleSocketError)) throw error;
      return this.once(body, authorization);
    }
  }

  private once(body: string, authorization?: string): Promise<{ status: number; text: string }> {
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
      req.on('error', (error: NodeJS.ErrnoException) => reject(req.reusedSocket && error.code === 'ECONNRESET' ? new StaleSocketError(error.message) : error));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The server had closed the idle keep-alive connection this request went out on. */
class StaleSocketError extends Error {}
