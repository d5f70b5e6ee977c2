// Entry of build/worker.mjs: one thread of a multi-threaded workload.
import { parentPort, workerData } from 'node:worker_threads';
import { type LarsonWorkerData, larsonWorker } from './workloads/larson';
import { type PcWorkerData, pcWorker } from './workloads/producer-consumer';

const data = workerData as LarsonWorkerData | PcWorkerData;
const report = data.workload === 'larson' ? await larsonWorker(data) : await pcWorker(data);
parentPort!.postMessage(report);
