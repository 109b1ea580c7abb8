/** The JSON body of a console API request, shared by the routes that take mapping files. */
import type Koa from 'koa';
import getRawBody from 'raw-body';

/** A whole mapping set is some 50 KB of YAML; room for it to grow. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** A request the caller must fix: the routes answer it 400 `invalid_request` with this message. */
export class BadRequest extends Error {}

/** The request's body as a JSON object ({} when empty); BadRequest when it cannot be read or is not one. */
export async function readJsonBody(ctx: Koa.Context): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit: MAX_BODY_BYTES, encoding: 'utf8' });
  } catch (error) {
    throw new BadRequest(`The request body could not be read: ${(error as Error).message}`);
  }
  try {
    const body = text.trim() === '' ? {} : (JSON.parse(text) as unknown);
    if (body && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new BadRequest('The request body must be a JSON object');
}
