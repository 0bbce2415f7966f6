// The console's web pages (server-rendered from templates/console/*.hbs), registered on the API's
// fastify instance under /ui. Placeholder until the pages land: registers nothing.
import type { FastifyInstance } from 'fastify';
import type { ConsoleService, Principal } from '../../../ports/console.js';

export interface WebOptions {
  service: ConsoleService;
  /** A bearer token → its principal, or undefined (src/adapters/console/auth.ts). */
  authenticate: (token: string) => Principal | undefined;
  /** Where templates/console lives (the package's templates dir). */
  templatesDir: string;
  /** Audit a web login (act `login`), called with the principal after a good token. */
  onLogin?: (p: Principal) => Promise<void>;
}

export async function webRoutes(_app: FastifyInstance, _o: WebOptions): Promise<void> {
  // filled in by the web view
}
