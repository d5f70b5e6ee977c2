// Compiles assembly/blocks.ts to build/blocks.wasm: a module that imports a shared memory and
// hakmem's malloc/free from JavaScript (env.memory, env.malloc, env.free).
import { mkdirSync } from 'node:fs';
import asc from 'assemblyscript/asc';

mkdirSync('build', { recursive: true });
const { error, stderr } = await asc.main([
  'assembly/blocks.ts',
  // The stub runtime never allocates unless the module creates managed objects, which it does
  // not: every byte above its static data (__heap_base) is left to hakmem.
  '--runtime',
  'stub',
  '--importMemory',
  '--sharedMemory',
  '--initialMemory',
  '1',
  '--maximumMemory',
  '65536',
  '-O3',
  '--noAssert',
  '--enable',
  'threads',
  '--use',
  'abort=',
  '--outFile',
  'build/blocks.wasm',
  '--textFile',
  'build/blocks.wat',
]);
if (error) {
  console.error(stderr.toString());
  throw error;
}
