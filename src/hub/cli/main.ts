// `npm start`: the hub on 127.0.0.1:8081 with the embedded simulated cluster; any CLI command works too.
import { run } from './cli.js';

await run(process.argv.slice(2));
