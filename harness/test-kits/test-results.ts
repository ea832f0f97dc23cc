// Preloaded into every test process (package.json, tap's node-arg): tests write their runs under
// the system's temporary folder, never into the project's results/ where users keep their own.
// One folder shared by the test files (not one each), so the key cache in it serves them all.
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.HH_RESULTS_DIR ??= join(tmpdir(), 'handshake-hunter-tests');
