// What the module imports from JavaScript. AssemblyScript names a declared function's import
// after its file, so these become env.malloc and env.free: hakmem's malloc and free, bound to
// the Heap of the thread that instantiates the module.
export declare function malloc(size: usize): usize;
export declare function free(ptr: usize): void;
