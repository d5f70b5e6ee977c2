import { createHeap } from 'hakmem';

console.log('hakmem bench: skeleton', typeof createHeap);
