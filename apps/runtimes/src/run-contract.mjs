// Runs the contract core in whatever runtime starts this file (node, deno run, bun) and prints
// one JSON line: the runtime's name and version and one result per case.
import { runAll } from './contract.mjs';

const runtime =
  typeof Deno !== 'undefined'
    ? `deno ${Deno.version.deno}`
    : typeof Bun !== 'undefined'
      ? `bun ${Bun.version}`
      : `node ${process.versions.node}`;

const results = runAll();
console.log(JSON.stringify({ runtime, results }));
