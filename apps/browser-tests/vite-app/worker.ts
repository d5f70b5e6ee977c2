import { attachHeap } from 'hakmem';
import { serveHeap } from '../static/worker-logic.js';

serveHeap(attachHeap);
