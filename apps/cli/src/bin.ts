#!/usr/bin/env node
import { main } from './main';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`tubelet: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 70;
  },
);
