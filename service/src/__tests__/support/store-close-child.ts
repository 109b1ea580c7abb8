/** Test support: opens the SQLite store at STORE_PATH, closes it and says so, with nothing else keeping it up. */
import { openStore } from '../../store';

void (async () => {
  const store = await openStore({ engine: 'sqlite', path: process.env.STORE_PATH! });
  await store.close();
  process.stdout.write('closed\n');
})();
