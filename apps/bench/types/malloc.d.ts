// The `malloc` package (codemix) ships no types.
declare module 'malloc' {
  export default class Allocator {
    constructor(buffer: ArrayBuffer, byteOffset?: number, byteLength?: number);
    alloc(bytes: number): number;
    free(address: number): number;
    sizeOf(address: number): number;
  }
}
