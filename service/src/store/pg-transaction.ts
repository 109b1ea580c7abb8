/** One PostgreSQL transaction on a connection of the pool, for the store's multi-statement changes. */
import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` between BEGIN and COMMIT on one pooled connection. On failure it gives the connection back as
 * broken, so the pool closes it rather than lend it again: after a read timeout the connection may still be
 * waiting for the server's answer (forever, if the network dropped it), and the next borrower's query would
 * queue behind it. PostgreSQL rolls the transaction back when its connection closes; a ROLLBACK sent first
 * would queue behind the unanswered query too, and hold the caller for a second timeout.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    client.release(failed);
  }
}
