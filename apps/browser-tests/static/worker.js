// A module worker that loads hakmem's self-contained build by URL: no bundler, no import map.

import { attachHeap } from './hakmem.js';
import { serveHeap } from './worker-logic.js';

serveHeap(attachHeap);
